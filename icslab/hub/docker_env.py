"""What docker mode needs from the engine before the hub starts: an engine that
answers, the participant image, and the lab's isolated network.

The network is a bridge with inter-container traffic off (one participant's
container cannot open a connection to another's) and, unless egress is
allowed, `internal` (nothing outside the lab is reachable). Containers reach
the hub API on the bridge's gateway address, where the hub binds it.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound, NotFound

from icslab.errors import InputError
from icslab.hub import firewall
from icslab.hub.firewall import bridge_of
from icslab.hub.teams import team_volume, user_volume
from icslab.languages import IMAGE_LABEL, not_in_image
from icslab.settings import size_bytes
from icslab.waiting import wait_for

NO_ICC = {"com.docker.network.bridge.enable_icc": "false"}
LAB_LABEL = "org.icslab.lab"


@dataclass(frozen=True)
class LabNetwork:
    name: str
    gateway: str
    internal: bool
    bridge: str  # the host's interface for it, where the lab's firewall rules apply


def engine_answers() -> bool:
    try:
        engine = docker.from_env(timeout=5)
    except DockerException:
        return False
    try:
        return bool(engine.ping())
    except DockerException:
        return False
    finally:
        engine.close()


def client() -> docker.DockerClient:
    try:
        found = docker.from_env(timeout=30)
        found.ping()
        return found
    except DockerException as error:
        raise InputError(
            f"the Docker engine does not answer ({error.__class__.__name__}): start it "
            "(`dockerd &`, or `systemctl start docker`) or use --spawner local"
        ) from None


def require_image(engine: docker.DockerClient, image: str) -> None:
    try:
        engine.images.get(image)
    except ImageNotFound:
        raise InputError(
            f"docker.image {image!r} is not on this machine: build it with `make images` "
            "(nothing is pulled from a registry)"
        ) from None


def require_languages(
    engine: docker.DockerClient, image: str, languages: list[str], config_file: Path
) -> None:
    """The image holds a pack for every language the settings list (its build labels it)."""
    label = (engine.images.get(image).labels or {}).get(IMAGE_LABEL)
    if lacking := not_in_image(languages, label):
        raise InputError(
            f"workshop.languages lists {', '.join(lacking)}, but docker.image {image!r} has "
            f"no language pack for {'it' if len(lacking) == 1 else 'them'} (it holds: "
            f"{label or 'none'}): build it again from these settings, `icslab images build "
            f"--config {config_file}`"
        )


def network_name(prefix: str) -> str:
    return f"{prefix}-net"


def as_the_lab_makes_it(network, internal: bool) -> bool:
    """A network of that name might have been made by hand or changed settings: only
    the lab's own isolation will do."""
    attrs = network.attrs
    return (
        attrs.get("Driver") == "bridge"
        and attrs.get("Internal", False) == internal
        and all(attrs.get("Options", {}).get(key) == value for key, value in NO_ICC.items())
    )


def ensure_network(engine: docker.DockerClient, prefix: str, egress: bool) -> LabNetwork:
    """The lab's network, created on first use; made again (if idle) when it is not as
    the lab makes it: egress changed, or someone made or changed it by hand."""
    name = network_name(prefix)
    internal = not egress
    try:
        network = engine.networks.get(name)
    except NotFound:
        network = None
    if network is not None and not as_the_lab_makes_it(network, internal):
        if network.attrs.get("Containers"):
            raise InputError(
                f"network {name} is not as the lab makes it (a bridge, internal = {internal}, "
                "inter-container traffic off) and still has containers: stop the participants' "
                f"servers (or `docker network rm {name}`) and start again"
            )
        network.remove()  # idle: make it again, as the lab would
        network = None
    if network is None:
        network = engine.networks.create(
            name, driver="bridge", internal=internal, options=NO_ICC, labels={LAB_LABEL: prefix}
        )
        network.reload()
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    bridge = network.attrs.get("Options", {}).get("com.docker.network.bridge.name")
    return LabNetwork(
        name=name, gateway=gateway, internal=internal, bridge=bridge or bridge_of(network.id or "")
    )


@dataclass(frozen=True)
class Removed:
    containers: list[str]
    volumes: list[str]
    networks: list[str]
    firewall: list[str]


def remove_lab_resources(prefix: str, *, volumes: bool) -> Removed:
    """Remove the lab's own containers, network and (if asked) volumes: by prefix only."""
    engine = client()
    removed = Removed([], [], [], [])
    # Swarm mode: servers, the node guard and moves are services with the lab's label.
    if engine.info().get("Swarm", {}).get("ControlAvailable"):
        for service in engine.services.list(filters={"label": f"{LAB_LABEL}={prefix}"}):
            service.remove()
            removed.containers.append(f"service {service.name}")
    for container in engine.containers.list(all=True, filters={"name": f"{prefix}-"}):
        if (name := container.name or "").startswith(f"{prefix}-"):
            with contextlib.suppress(NotFound):  # a removed service's task goes by itself
                container.remove(force=True)
                removed.containers.append(name)
    try:
        network = engine.networks.get(network_name(prefix))
        network.remove()
        removed.networks.append(network.name or network_name(prefix))
    except NotFound:
        pass
    # The teams' plant networks (icslab.plant.networks) carry the lab's label.
    for network in engine.networks.list(filters={"label": f"{LAB_LABEL}={prefix}"}):
        network.reload()
        for container in network.attrs.get("Containers") or {}:
            with contextlib.suppress(NotFound):  # an overlay's own endpoint goes with it
                network.disconnect(container, force=True)
        # An overlay is free only once the removed services' tasks have left it.
        wait_for(partial(network_removed, network), timeout=60, what=f"{network.name} removed")
        removed.networks.append(network.name or "")
    if firewall.remove(prefix):
        removed.firewall.append(firewall.table_name(prefix))
    if firewall.remove_plants(prefix):
        removed.firewall.append(firewall.plants_table(prefix))
    if firewall.remove_node_table(prefix):
        removed.firewall.append(firewall.node_table(prefix))
    if volumes:
        own = (user_volume(prefix, ""), team_volume(prefix, ""))  # participants' and teams' work
        for volume in engine.volumes.list(filters={"name": f"{prefix}-"}):
            if volume.name.startswith(own):
                volume.remove(force=True)
                removed.volumes.append(volume.name)
    return removed


def network_removed(network) -> bool:
    """Remove `network`; False while endpoints still hold it (retry with wait_for)."""
    try:
        network.remove()
    except NotFound:
        return True
    except docker.errors.APIError:
        return False
    return True


def disk_quota_supported(info: dict, mounts: str) -> bool:
    """Whether the engine can cap a container's writable layer (`--storage-opt size`):
    overlay2 on xfs mounted with project quotas. `info` is the engine's, `mounts`
    the text of /proc/mounts."""
    status = dict(info.get("DriverStatus") or [])
    if info.get("Driver") != "overlay2" or status.get("Backing Filesystem") != "xfs":
        return False
    root, best, options = info.get("DockerRootDir", "/var/lib/docker"), "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point = fields[1]
        holds_root = root == point or root.startswith(point.rstrip("/") + "/")
        if holds_root and len(point) > len(best):
            best, options = point, fields[3]
    return bool({"prjquota", "pquota"} & set(options.split(",")))


def check_free_space(engine: docker.DockerClient, prefix: str, participants: int, each: str):
    """Refuse to start unless Docker's disk can hold every participant's share
    (limits.disk, which the disk guard enforces), less what their work already holds."""
    root = engine.info()["DockerRootDir"]
    own = user_volume(prefix, "")
    held = sum(
        max(0, (volume.get("UsageData") or {}).get("Size", 0))
        for volume in engine.df().get("Volumes") or []
        if volume["Name"].startswith(own)
    )
    need = participants * size_bytes(each) - held
    free = shutil.disk_usage(root).free
    if free < need:
        gb = 1024**3
        raise InputError(
            f"the disk that holds Docker's data ({root}) has {free / gb:.1f} GB free; the lab "
            f"needs {need / gb:.1f} GB: {participants} participants x limits.disk {each}, less "
            f"{held / gb:.1f} GB their work folders hold. Free space there, or lower limits.disk"
        )


def reset_volume(prefix: str, username: str) -> str:
    """Delete one participant's work volume; their server must be stopped first."""
    engine = client()
    name = user_volume(prefix, username)
    try:
        engine.containers.get(f"{prefix}-{username}")
        raise InputError(f"{username}'s server is running: stop it first (admin page or hub API)")
    except NotFound:
        pass
    try:
        engine.volumes.get(name).remove()
    except NotFound:
        raise InputError(f"no volume {name}: {username} has not started a server yet") from None
    return name
