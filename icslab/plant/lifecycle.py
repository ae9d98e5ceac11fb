"""Starting, steering and stopping a lab's live plants (local mode: one process for all,
serve.py, on loopback ports; the lab's data dir holds each plant's folder).

    up(lab, speed=1, red_team=False)   one plant per roster team
    status(lab) / attack(lab, team, body) / stop_attack / reset / down(lab)

The steering goes through each plant's control socket (a unix socket in its folder,
0600), so nothing on any network can steer a plant.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd

from icslab.errors import InputError
from icslab.hub.teams import SHARED_PLANT
from icslab.lab import PLANT_SERVERS, Lab, record_plant_server
from icslab.plant import sandbox
from icslab.plant.plc import PLCS
from icslab.plant.serve import CONTROL_SOCKET, PlantConfig, load_config, write_config
from icslab.roster import teams
from icslab.waiting import wait_for

PID, LOG = "plants.pid", "plants.log"  # in LabPaths.plants: the one process's
ATTACKER = "127.0.0.66"  # the lab attacker's source: no HMI's, no participant's (both modes)
START_SECONDS = 30  # a plant answers its control socket within this (about 2 s here)
# Free ports are picked, then bound by the plants' process: another program may take one
# in between. Then the plants are prepared again with other ports.
PORT_ATTEMPTS = 3
PORT_TAKEN = ("Could not start listen", "Address already in use")


class PortTaken(InputError):
    pass


SHARED = SHARED_PLANT  # `up --shared`: the room's one plant's folder
MODE = "mode"  # in LabPaths.plants: "shared" after `up --shared`, else per team


def shared(lab: Lab) -> bool:
    """Whether the lab's plants are (or were last) one plant for the whole room."""
    mode = lab.paths.plants / MODE
    return mode.exists() and mode.read_text().strip() == "shared"


def folder_of(lab: Lab, team: str) -> Path:
    """The plant folder a team's servers use: theirs, or the room's shared one."""
    if shared(lab):
        return lab.paths.plants / SHARED
    return lab.paths.plants / team


def plant_teams(lab: Lab) -> list[str]:
    return sorted(teams(lab.members))


def host_pid(plants: Path) -> tuple[int, list[bytes]] | None:
    """The plants' process and its command line if it runs (pids are reused), else None."""
    try:
        pid = int((plants / PID).read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return (pid, command) if b"icslab.plant.serve" in command else None


def running(folder: Path) -> bool:
    """Whether the plant of this folder runs (its folder is on the process's command
    line: the host's path in local mode, /plants/<name> in docker mode's container)."""
    host = host_pid(folder.parent)
    return host is not None and any(arg.endswith(b"/" + folder.name.encode()) for arg in host[1])


def up(lab: Lab, *, speed: float = 1.0, red_team: bool = False, one: bool = False) -> list[str]:
    """Start every team's plant (`one`: a single plant the whole room shares); returns
    what it did, a line each."""
    if not 0 < speed <= 1000:
        raise InputError(f"--speed {speed:g}: from above 0 (slower) to 1000 (1 = real time)")
    known = plant_teams(lab)
    if not known:
        raise InputError("the roster has no teams: a plant is per team (roster column team)")
    if host_pid(lab.paths.plants):
        return [
            f"{team}: already up" if running(folder_of(lab, team))
            else f"{team}: not up (`icslab plant down`, then `up`, starts every team's)"
            for team in known
        ]  # fmt: skip
    lab.paths.plants.mkdir(parents=True, exist_ok=True, mode=0o700)
    (lab.paths.plants / MODE).write_text("shared\n" if one else "teams\n")
    plants = [SHARED] if one else known
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            if lab.swarm_image:
                folders = _start_swarm(lab, plants, speed, red_team)
            elif lab.spawner == "docker":
                folders = _prepare_docker(lab, plants, speed, red_team)
                sandbox.start(lab, folders)
                _wait_for(folders, lambda: sandbox.failed(lab))
            else:
                folders = [prepare(lab.paths.plants / n, n, speed, red_team) for n in plants]
                start_plants(lab.paths.plants, folders)
            break
        except PortTaken:
            if attempt == PORT_ATTEMPTS:
                raise
    if one:
        return [f"the room's plant: up, data at {data_url(folders[0])}, for {', '.join(known)}"]
    return [
        f"{team}: up, data at {data_url(folder)}"
        for team, folder in zip(known, folders, strict=True)
    ]


def prepare(
    folder: Path, team: str, speed: float, red_team: bool,
    host: str = "127.0.0.1", attacker: str = ATTACKER, **docker: str,
) -> Path:  # fmt: skip
    """A team's plant folder with its plant.json: the plant listens on `host` (free
    ports), its attacker writes from `attacker`; servers reach it at `host`, or at the
    name `docker["reach"]` (swarm mode)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ports = _free_ports(len(PLCS) + 1, host)
    plcs = {plc: (host, port) for plc, port in zip(PLCS, ports, strict=False)}
    reach = docker.get("reach", host)
    config = PlantConfig(
        team=team, seed=secrets.randbelow(2**31),
        start=pd.Timestamp.now(tz="UTC").floor("s").isoformat(), speed=speed,
        red_team=red_team, plcs=plcs, data=(host, ports[-1]),
        advertised={plc: (reach, port) for plc, (_, port) in plcs.items()},
        attacker=attacker, **docker,
    )  # fmt: skip
    write_config(folder, config)
    (folder / CONTROL_SOCKET).unlink(missing_ok=True)
    return folder


def data_url(folder: Path) -> str:
    """Where the team's servers reach the plant's data API."""
    config = load_config(folder)
    return f"http://{config.reach or config.data[0]}:{config.data[1]}/"


def start_plants(plants: Path, folders: list[Path]) -> None:
    """The process that runs the plants of `folders`; returns once each answers."""
    with open(plants / LOG, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "icslab.plant.serve", *map(str, folders)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    (plants / PID).write_text(f"{process.pid}\n")

    def failed() -> str | None:
        if process.poll() is None:
            return None
        return " / ".join((plants / LOG).read_text(errors="replace").strip().splitlines()[-3:])

    _wait_for(folders, failed)


def _wait_for(folders: list[Path], failed: Callable[[], str | None]) -> None:
    """Until every plant answers its control socket; `failed()`: why the plants' process
    ended, if it did."""

    def answers() -> bool:
        why = failed()
        if why is not None:
            taken = any(sign in why for sign in PORT_TAKEN)
            raise (PortTaken if taken else InputError)(f"the plants stopped at start: {why}")
        try:
            return all(control(f, "GET", "status").status_code == 200 for f in folders)
        except httpx.TransportError:
            return False

    wait_for(answers, timeout=START_SECONDS, what="the plants to answer")


def control(folder: Path, method: str, path: str, body: dict | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(uds=str(folder / CONTROL_SOCKET))
    with httpx.Client(transport=transport, base_url="http://plant", timeout=10) as client:
        return client.request(method, f"/{path}", json=body)


def _steer(lab: Lab, team: str | None, method: str, path: str, body: dict | None = None) -> dict:
    known = plant_teams(lab)
    if team is None and not shared(lab):
        raise InputError("--team: whose plant (each team has its own)")
    if team is not None and team not in known:
        raise InputError(f"--team {team}: no such team (teams: {', '.join(known) or 'none'})")
    folder = folder_of(lab, team or "")
    if not running(folder):
        raise InputError(f"team {team} has no plant running: `icslab plant up` first")
    answer = control(folder, method, path, body)
    if answer.status_code >= 400:
        raise InputError(answer.text.strip())
    return answer.json() if answer.content else {}


def status(lab: Lab) -> dict[str, dict | None]:
    """Each plant's status (None: not running), by team, or the room's shared one."""
    if shared(lab):
        folder = lab.paths.plants / SHARED
        return {"the room": _steer(lab, None, "GET", "status") if running(folder) else None}
    return {
        team: _steer(lab, team, "GET", "status") if running(folder_of(lab, team)) else None
        for team in plant_teams(lab)
    }


def attack(lab: Lab, team: str | None, body: dict) -> dict:
    return _steer(lab, team, "POST", "attack", body)


def stop_attack(lab: Lab, team: str | None) -> None:
    _steer(lab, team, "POST", "stop-attack")


def reset(lab: Lab, team: str | None) -> None:
    _steer(lab, team, "POST", "reset")


def down(lab: Lab) -> list[str]:
    """Stop the plants (their ground truth and log stay in their folders); in docker mode
    the plant networks and their firewall go too."""
    host, stopped = host_pid(lab.paths.plants), []
    if lab.spawner == "docker":
        stopped = [f"{name}: down" for name in sandbox.stop(lab)]
    elif host is not None:
        pid, command = host
        os.kill(pid, signal.SIGTERM)
        try:
            wait_for(lambda: not host_pid(lab.paths.plants), timeout=10, what="the plants to stop")
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
        stopped = [f"{folder.name}: down" for folder in sorted(lab.paths.plants.iterdir())
                   if str(folder).encode() in command]  # fmt: skip
    (lab.paths.plants / PID).unlink(missing_ok=True)
    if lab.spawner == "docker":  # networks first: the firewall guards them until gone
        from icslab.hub import docker_env, firewall
        from icslab.plant import networks

        networks.remove_all(docker_env.client(), lab.settings.docker.prefix)
        firewall.remove_plants(lab.settings.docker.prefix)
    return stopped


def _prepare_docker(lab: Lab, plants: list[str], speed: float, red_team: bool) -> list[Path]:
    """Each team's plant network (its servers joined to it), its plant on the network's
    gateway, and the firewall around them."""
    from icslab.hub import docker_env, firewall
    from icslab.hub.teams import plant_network
    from icslab.plant import networks

    engine, prefix = docker_env.client(), lab.settings.docker.prefix
    folders, openings = [], []
    for team in plants:
        network = networks.ensure(engine, prefix, team)
        shutil.rmtree(
            lab.paths.plants / team / PLANT_SERVERS, ignore_errors=True
        )  # addresses change
        folder = prepare(lab.paths.plants / team, team, speed, red_team, host=network.gateway,
                         network=network.name, prefix=prefix)  # fmt: skip
        config = load_config(folder)
        openings.append(firewall.PlantOpening(network.bridge, network.gateway, config.ports))
        folders.append(folder)
    firewall.install_plants(prefix, openings)
    for member in lab.members:  # a server already running joins now; later ones at start
        plant = SHARED if plants == [SHARED] else member.team
        if member.team and plant in plants:
            ip = networks.join(engine, plant_network(prefix, plant), f"{prefix}-{member.username}")
            if ip:
                record_plant_server(lab.paths.plants / plant, ip, member.username)
    return folders


def _start_swarm(lab: Lab, plants: list[str], speed: float, red_team: bool) -> list[Path]:
    """The plants' container on the manager, guarded, then joined to the network of each
    teamed participant whose server runs (later ones join as they start)."""
    from docker.errors import NotFound

    from icslab.hub import docker_env, plant_reach
    from icslab.hub.swarm_spawner import own_network

    api, prefix = docker_env.client().api, lab.settings.docker.prefix
    network = plant_reach.ensure_plants_network(api, prefix)
    folders = []
    for plant in plants:
        shutil.rmtree(lab.paths.plants / plant / PLANT_SERVERS, ignore_errors=True)
        folder = prepare(lab.paths.plants / plant, plant, speed, red_team, host="0.0.0.0",
                         network=network, prefix=prefix, reach=plant_reach.ALIAS)  # fmt: skip
        folders.append(folder)
    sandbox.start(lab, folders, network=network)
    _wait_for(folders, lambda: sandbox.failed(lab))
    openings = {folder.name: load_config(folder).ports for folder in folders}
    plant_reach.guard_plants(int((lab.paths.plants / PID).read_text()), openings)
    for member in lab.members:
        if not member.team:
            continue
        try:
            service = api.inspect_service(f"{prefix}-{member.username}")["ID"]
        except NotFound:
            continue  # not started: joins as it starts (icslab.hub.swarm_spawner)
        tasks = api.tasks(filters={"service": service, "desired-state": "running"})
        for task in (t for t in tasks if t["Status"]["State"] == "running"):
            plant_reach.reach(api, prefix, lab.paths.plants, member.username, member.team,
                              own_network(prefix, member.username), task)  # fmt: skip
    return folders


def _free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind((host, 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()
