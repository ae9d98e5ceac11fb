"""Docker mode: a plant network per team, `<prefix>-plant-<team>`, that joins the team's
servers to its plant and to nothing else.

Each is an internal bridge with inter-container traffic off, as the lab's own network:
teammates on it cannot reach each other's servers. The plants run on the host (one
process, as in local mode) and each team's plant listens on its network's gateway
address only. The firewall table `inet <prefix>-plants` (icslab.hub.firewall) lets a
plant network reach its own plant's ports on its own gateway and nothing else of the
host, and keeps every other interface away from those addresses. A team's server joins
its network when it starts (icslab.hub.spawners) or when the plants come up.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
from docker.errors import APIError, NotFound

from icslab.hub import firewall
from icslab.hub.docker_env import LAB_LABEL, NO_ICC
from icslab.hub.teams import plant_network

PLANT_LABEL = "org.icslab.plant"


@dataclass(frozen=True)
class PlantNetwork:
    team: str
    name: str
    bridge: str
    gateway: str


def ensure(engine: docker.DockerClient, prefix: str, team: str) -> PlantNetwork:
    """The team's plant network, created on first use."""
    name = plant_network(prefix, team)
    try:
        network = engine.networks.get(name)
    except NotFound:
        network = engine.networks.create(
            name, driver="bridge", internal=True, options=NO_ICC,
            labels={LAB_LABEL: prefix, PLANT_LABEL: team},
        )  # fmt: skip
        network.reload()
    attrs = network.attrs
    if not (attrs.get("Internal") and attrs.get("Options", {}).items() >= NO_ICC.items()):
        raise RuntimeError(
            f"network {name} is not as the lab makes it (internal, inter-container traffic "
            f"off): remove it (`docker network rm {name}`) and run `icslab plant up` again"
        )
    gateway = attrs["IPAM"]["Config"][0]["Gateway"]
    return PlantNetwork(team, name, firewall.bridge_of(network.id or ""), gateway)


def join(engine: docker.DockerClient, network: str, container: str) -> str | None:
    """Connect a running container to `network`; its address there, None if either is
    not there."""
    try:
        engine.networks.get(network).connect(container)
    except NotFound:
        return None
    except APIError as error:
        if "already exists" not in str(error):
            raise
    joined = engine.containers.get(container)
    return joined.attrs["NetworkSettings"]["Networks"][network]["IPAddress"] or None


def remove_all(engine: docker.DockerClient, prefix: str) -> list[str]:
    """Every plant network of the lab, its containers disconnected first."""
    removed = []
    for network in engine.networks.list(filters={"label": f"{LAB_LABEL}={prefix}"}):
        if PLANT_LABEL not in (network.attrs.get("Labels") or {}):
            continue
        network.reload()
        for container in network.attrs.get("Containers") or {}:
            network.disconnect(container, force=True)
        network.remove()
        removed.append(network.name or "")
    return removed
