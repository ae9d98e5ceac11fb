"""Docker and swarm mode: the lab's plants run in a container of the lab's image,
hardened as participants' containers are: every capability dropped, no new privileges,
uid 1000, a read-only root, memory (no swap beyond it), CPU and process limits. It
mounts DATA_DIR/plants and nothing else: no Docker socket, no hub state.

In docker mode it shares the host's network only so that each team's plant can listen
on its own plant network's gateway (the plants' firewall table keeps everything else
out). In swarm mode it starts on the lab's plants overlay and joins participants'
networks as their servers start (icslab.hub.plant_reach).

The plants parse what participants send (Modbus, HTTP): none of that runs as root.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from docker.errors import NotFound
from docker.types import LogConfig

from icslab.hub import docker_env, plant_reach
from icslab.hub.teams import plants_container, plants_run_by
from icslab.lab import Lab

MOUNT = "/plants"  # DATA_DIR/plants inside the container
UID, GID = 1000, 100  # the image's user (images/participant/Dockerfile)
PYTHON = "/opt/venv/bin/python"  # the image's
MEMORY = "1g"  # six plants use about 190 MiB (bench/plant.py)
CPUS = 1.0
PIDS = 256
PID = "plants.pid"  # as lifecycle's: the container's main process, seen from the host


def start(lab: Lab, folders: list[Path], network: str | None = None) -> None:
    """The plants of `folders`, on the host's network or (swarm mode) on `network`."""
    engine, prefix = docker_env.client(), lab.settings.docker.prefix
    _remove(engine, prefix)
    for path in [lab.paths.plants, *lab.paths.plants.rglob("*")]:
        os.chown(path, UID, GID, follow_symlinks=False)  # the plants write their truth
    container = engine.containers.create(
        lab.settings.docker.image,
        [PYTHON, "-m", "icslab.plant.serve", *(f"{MOUNT}/{folder.name}" for folder in folders)],
        name=plants_container(prefix),
        network=network,
        network_mode=None if network else "host",
        user=f"{UID}:{GID}",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": "size=64m"},
        environment={"HOME": "/tmp"},
        mem_limit=MEMORY,
        memswap_limit=MEMORY,
        nano_cpus=int(CPUS * 1e9),
        pids_limit=PIDS,
        volumes={str(lab.paths.plants): {"bind": MOUNT, "mode": "rw"}},
        labels={docker_env.LAB_LABEL: prefix},
        log_config=LogConfig(type="json-file", config={"max-size": "10m", "max-file": "3"}),
    )
    if network:  # swarm mode: the swarm allocates its attachment, at times slowly
        plant_reach.attached(container.start, engine.api, network)
    else:
        container.start()
    container.reload()
    (lab.paths.plants / PID).write_text(f"{container.attrs['State']['Pid']}\n")


def failed(lab: Lab) -> str | None:
    """Why the plants' container stopped, if it did."""
    try:
        container = docker_env.client().containers.get(plants_container(lab.settings.docker.prefix))
    except NotFound:
        return "its container is gone"
    if container.status in ("created", "running"):
        return None
    tail = container.logs(tail=3).decode(errors="replace").strip().splitlines()
    return " / ".join(tail) or container.status


def stop(lab: Lab) -> list[str]:
    """Stop and remove the plants' container; the plants it ran."""
    engine = docker_env.client()
    try:
        container = engine.containers.get(plants_container(lab.settings.docker.prefix))
    except NotFound:
        return []
    plants = plants_run_by(container.attrs)
    container.stop(timeout=10)
    container.remove(force=True)
    return plants


def _remove(engine, prefix: str) -> None:
    with contextlib.suppress(NotFound):
        engine.containers.get(plants_container(prefix)).remove(force=True)
