"""`icslab cluster move p07 --to node2`: a participant's work (and their team's, since a
team lives on one node) copied to another node, then re-pinned there.

Volumes are local to a node and the manager's engine cannot read another node's, so
the copy runs as two one-shot swarm services of the participant image on an overlay
network of their own: a sender on the old node (`tar -c` of the volume, read-only)
and a receiver on the new node (`tar -x` into a fresh volume of the same name). Both
run as uid 1000 with no capabilities, like the participant's own server: nothing of
the participant's is read or unpacked as root, and their links stay links. The old
volume is kept on the old node until the instructor removes it.

A lost node takes its volumes with it: `--fresh` re-pins a participant to another
node with an empty work folder, for when the old node will not come back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import docker
from docker.types import EndpointSpec, Mount, RestartPolicy

from icslab.errors import InputError
from icslab.hub.docker_env import LAB_LABEL, network_removed
from icslab.hub.swarm_spawner import joined_later, read_placement, record_placement
from icslab.hub.teams import IMAGE_TEAM_DIR, team_volume, user_volume
from icslab.lab import Lab
from icslab.roster import teams
from icslab.waiting import wait_for

PORT = 7000
# Where both ends mount the volume: an empty folder of the image owned by uid 1000, so a
# fresh volume there starts empty and writable by the receiver.
AT = IMAGE_TEAM_DIR
# The sender streams a tar of the volume to the receiver; each prints what it moved.
RECEIVE = (
    "import os, socket, subprocess, sys\n"
    f"if os.listdir('{AT}'):\n"
    "    sys.exit('the new node already has this volume, with files: remove it there first')\n"
    f"server = socket.create_server(('', {PORT}))\n"
    "connection, _ = server.accept()\n"
    f"tar = subprocess.Popen(['tar', '-x', '-C', '{AT}'], stdin=subprocess.PIPE)\n"
    "total = 0\n"
    "while chunk := connection.recv(1 << 16):\n"
    "    tar.stdin.write(chunk)\n"
    "    total += len(chunk)\n"
    "tar.stdin.close()\n"
    "print('received', total, flush=True)\n"
    "sys.exit(tar.wait())\n"
)
SEND = (
    "import socket, subprocess, sys, time\n"
    "for attempt in range(120):\n"
    "    try:\n"
    f"        connection = socket.create_connection((sys.argv[1], {PORT}), timeout=5)\n"
    "        break\n"
    "    except OSError:\n"
    "        time.sleep(0.5)\n"
    "else:\n"
    "    sys.exit('the receiver never answered')\n"
    f"tar = subprocess.Popen(['tar', '-c', '-C', '{AT}', '.'], stdout=subprocess.PIPE)\n"
    "total = 0\n"
    "while chunk := tar.stdout.read(1 << 16):\n"
    "    connection.sendall(chunk)\n"
    "    total += len(chunk)\n"
    "connection.close()\n"
    "print('sent', total, flush=True)\n"
    "sys.exit(tar.wait())\n"
)


ENDED = ("complete", "failed", "rejected", "shutdown")


@dataclass(frozen=True)
class Moved:
    users: list[str]
    volumes: list[str]
    source: str  # node id ('' with --fresh or when nothing was placed yet)
    target: str  # node id
    copied: bool


def move(engine: docker.DockerClient, lab: Lab, user: str, to: str, *, fresh: bool) -> Moved:
    """Move `user` (and their team) to the node named `to` (hostname or id)."""
    assert lab.swarm_image  # a swarm lab
    members = {m.username: m for m in lab.members}
    if user not in members:
        raise InputError(f"{user} is not in the lab's roster")
    prefix = lab.settings.docker.prefix
    team = members[user].team
    users = teams(lab.members)[team] if team else [user]
    target = _node_id(engine, to, lab.swarm_nodes)
    running = [u for u in users if _service(engine, f"{prefix}-{u}")]
    if running:
        raise InputError(
            f"{', '.join(running)}'s server is running: stop it first (hub admin page), "
            "then move" + (f" (a team moves together: {', '.join(users)})" if team else "")
        )
    placement = read_placement(lab.paths.cluster)
    sources = {placement[u] for u in users if u in placement}
    if len(sources) > 1:
        raise InputError(f"{', '.join(users)} live on several nodes: move each of them")
    source = sources.pop() if sources else ""
    volumes = [user_volume(prefix, u) for u in users] + (
        [team_volume(prefix, team)] if team else []
    )
    copy = bool(source) and source != target and not fresh
    if copy:
        for volume in volumes:
            _copy(engine, lab, volume, source, target)
    for u in users:
        record_placement(lab.paths.cluster, u, target)
    return Moved(users, volumes if copy else [], source, target, copy)


def _node_id(engine: docker.DockerClient, name: str, started_with: list[str]) -> str:
    """The ready node named `name`, one of those the lab started with."""
    for node in engine.nodes.list():
        if name in (node.id, node.attrs["Description"].get("Hostname")):
            if node.attrs["Status"]["State"] != "ready":
                raise InputError(f"node {name} is {node.attrs['Status']['State']}, not ready")
            if joined_later(node.attrs, started_with):
                raise InputError(
                    f"node {name} joined after the lab started, so its servers cannot reach "
                    "the hub yet: run `icslab up` again, then move"
                )
            return str(node.id)
    raise InputError(f"no node {name} in the swarm: `icslab cluster status` lists them")


def _service(engine: docker.DockerClient, name: str):
    return next((s for s in engine.services.list(filters={"name": name}) if s.name == name), None)


def _copy(engine: docker.DockerClient, lab: Lab, volume: str, source: str, target: str) -> None:
    """One volume from `source` to `target`, through a receiver and a sender service."""
    prefix = lab.settings.docker.prefix
    tag = hashlib.sha256(volume.encode()).hexdigest()[:8]
    network = engine.networks.create(
        f"{prefix}-move-{tag}", driver="overlay", labels={LAB_LABEL: prefix}
    )
    receiver_name, sender_name = f"{prefix}-move-{tag}-in", f"{prefix}-move-{tag}-out"
    made = []
    try:
        made.append(
            _one_shot(engine, lab, receiver_name, target, network.name,
                      Mount(AT, volume, type="volume"), ["python3", "-c", RECEIVE])
        )  # fmt: skip
        made.append(
            _one_shot(engine, lab, sender_name, source, network.name,
                      Mount(AT, volume, type="volume", read_only=True),
                      ["python3", "-c", SEND, receiver_name])
        )  # fmt: skip
        states = wait_for(
            lambda: _all_done(made), timeout=1800, what=f"copying {volume} to the new node"
        )
        failed = [name for name, state in states.items() if state != "complete"]
        if failed:
            said = " / ".join(_logs(engine, name) for name in failed)
            raise InputError(f"copying {volume} failed ({', '.join(failed)}): {said}")
    finally:
        for service in made:
            service.remove()
        # Its tasks leave the network as they go: retry until the engine lets it go.
        wait_for(lambda: network_removed(network), timeout=60, what=f"{network.name} to be removed")


def _one_shot(engine, lab: Lab, name: str, node: str, network, mount: Mount, command):
    return engine.services.create(
        lab.swarm_image,
        command=command,
        name=name,
        user="1000:100",
        cap_drop=["ALL"],
        mounts=[mount],
        networks=[network],
        constraints=[f"node.id=={node}"],
        restart_policy=RestartPolicy(condition="none"),
        endpoint_spec=EndpointSpec(mode="dnsrr"),  # no VIPs on this kernel: names are tasks
        labels={LAB_LABEL: lab.settings.docker.prefix},
    )


def _all_done(services) -> dict[str, str] | None:
    """Each service's task state once both ended, or as soon as one failed."""
    states = {}
    for service in services:
        tasks = service.tasks()
        states[service.name] = tasks[0]["Status"]["State"] if tasks else "new"
    ended = [state in ENDED for state in states.values()]
    failed = any(state in ENDED and state != "complete" for state in states.values())
    return states if all(ended) or failed else None


def _logs(engine: docker.DockerClient, name: str) -> str:
    try:
        service = engine.services.get(name)
        return b"".join(service.logs(stdout=True, stderr=True)).decode(errors="replace")[-300:]
    except docker.errors.APIError:
        return "(no log)"
