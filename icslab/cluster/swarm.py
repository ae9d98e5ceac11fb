"""The swarm itself: made on the lab server (the manager), what each extra machine runs
to join, and what `icslab cluster status` shows.

Docker's own swarm mode schedules; the lab only prepares engines and reads state.
A node is *prepared* when its engine carries the lab's label (set with the other
engine options the lab needs, see `join_script`): participants are placed only on
prepared nodes, so a machine that joined without them gets nobody.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import docker

from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.hub.swarm_spawner import (
    GWBRIDGE,
    PREPARED_LABEL,
    USER_LABEL,
    node_address,
    node_prepared,
    read_placement,
)
from icslab.lab import LabPaths

MANAGER_PORT = 2377
# Created before the engine makes it, so that containers on one node never reach each
# other through it (no inter-container traffic), as on the lab network in docker mode.
GWBRIDGE_OPTIONS = {
    "com.docker.network.bridge.name": GWBRIDGE,
    "com.docker.network.bridge.enable_icc": "false",
    "com.docker.network.bridge.enable_ip_masquerade": "true",
}
# Engine options a node needs: what a service spec cannot carry (Docker 20.10).
ENGINE_OPTIONS = {"no-new-privileges": True, "labels": [PREPARED_LABEL]}
# Swap off now and at boot (a service's memory limit leaves it as much swap again).
SWAP_OFF = r"swapoff -a && sed -ri '/\sswap\s/s/^#*/#/' /etc/fstab"


@dataclass(frozen=True)
class Cluster:
    """What `icslab cluster init` settled, kept in the lab's cluster folder."""

    address: str  # the manager's address, as the other nodes reach it
    registry: str  # host:port of the lab registry

    def save(self, paths: LabPaths) -> None:
        write_atomic(cluster_file(paths), json.dumps(asdict(self), indent=2).encode(), 0o644)

    @classmethod
    def load(cls, paths: LabPaths) -> Cluster:
        try:
            return cls(**json.loads(cluster_file(paths).read_text()))
        except FileNotFoundError:
            raise InputError(
                f"no cluster for the lab in {paths.data_dir}: run `icslab cluster init` first"
            ) from None


def cluster_file(paths: LabPaths) -> Path:
    return paths.cluster / "cluster.json"


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    role: str
    state: str  # ready, down, ...
    availability: str  # active, pause, drain
    address: str
    cpus: float
    memory: int  # bytes
    prepared: bool
    participants: tuple[str, ...]  # running there now
    lives_here: tuple[str, ...]  # whose work volume is there


def make_swarm(engine: docker.DockerClient, address: str) -> bool:
    """This engine as the swarm's manager, advertising `address`; whether it was made now."""
    swarm = engine.info()["Swarm"]
    state = swarm.get("LocalNodeState")
    if state == "active":
        if not swarm.get("ControlAvailable"):
            raise InputError(
                "this engine is a worker of another swarm: run `icslab cluster init` on the "
                "lab server, or leave that swarm first (`docker swarm leave`)"
            )
        advertised = swarm.get("NodeAddr")
        if advertised != address:
            raise InputError(
                f"this engine already manages a swarm advertised on {advertised}, not "
                f"{address}: run `icslab cluster init --address {advertised}`"
            )
        ensure_gwbridge(engine)  # checked: an existing swarm's bridge cannot change
        return False
    ensure_gwbridge(engine)
    engine.swarm.init(advertise_addr=address, listen_addr=f"{address}:{MANAGER_PORT}")
    return True


def ensure_gwbridge(engine: docker.DockerClient) -> None:
    """The bridge swarm containers leave their node by, without inter-container traffic.
    Refused if the engine made one of its own already (it cannot change under a swarm)."""
    try:
        network = engine.networks.get(GWBRIDGE)
    except docker.errors.NotFound:
        engine.networks.create(GWBRIDGE, driver="bridge", options=GWBRIDGE_OPTIONS)
        return
    if network.attrs.get("Options", {}).get("com.docker.network.bridge.enable_icc") != "false":
        raise InputError(
            f"{GWBRIDGE} exists with inter-container traffic on (the engine made it for an "
            f"earlier swarm): leave that swarm (`docker swarm leave --force`), remove it "
            f"(`docker network rm {GWBRIDGE}`) and run `icslab cluster init` again"
        )


def join_token(engine: docker.DockerClient) -> str:
    return engine.swarm.attrs["JoinTokens"]["Worker"]


def join_script(cluster: Cluster, ca_pem: str, token: str) -> str:
    """What an instructor runs as root on each extra machine (Debian's docker.io)."""
    certs_dir = f"/etc/docker/certs.d/{cluster.registry}"
    options = json.dumps(ENGINE_OPTIONS)
    gwbridge = " ".join(f"--opt {key}={value}" for key, value in GWBRIDGE_OPTIONS.items())
    return "\n".join(
        [
            "# 1. trust the lab registry (its CA, for this registry only)",
            f"mkdir -p {certs_dir}",
            f"cat > {certs_dir}/ca.crt <<'EOF'",
            ca_pem.strip(),
            "EOF",
            "# 2. the engine options participants' containers need; then restart the engine",
            "#    (merge by hand if /etc/docker/daemon.json exists); and swap off",
            f"echo '{options}' > /etc/docker/daemon.json",
            "systemctl restart docker",
            SWAP_OFF,
            "# 3. the bridge containers leave the node by, with no inter-container traffic",
            f"docker network create --driver bridge {gwbridge} {GWBRIDGE}",
            "# 4. join",
            f"docker swarm join --token {token} {cluster.address}:{MANAGER_PORT}",
        ]
    )


def nodes(engine: docker.DockerClient, paths: LabPaths) -> list[Node]:
    """Every node, its free resources and who is placed there."""
    running: dict[str, list[str]] = {}
    for service in engine.services.list(filters={"label": USER_LABEL}):
        user = service.attrs["Spec"]["Labels"][USER_LABEL]
        for task in service.tasks(filters={"desired-state": "running"}):
            running.setdefault(task.get("NodeID", ""), []).append(user)
    placed: dict[str, list[str]] = {}
    for user, node_id in read_placement(paths.cluster).items():
        placed.setdefault(node_id, []).append(user)
    found = []
    for node in engine.nodes.list():
        node_id, attrs = str(node.id), node.attrs
        description = attrs.get("Description", {})
        resources = description.get("Resources", {})
        found.append(
            Node(
                id=node_id,
                hostname=description.get("Hostname", ""),
                role=attrs["Spec"].get("Role", ""),
                state=attrs.get("Status", {}).get("State", ""),
                availability=attrs["Spec"].get("Availability", ""),
                address=node_address(attrs),
                cpus=resources.get("NanoCPUs", 0) / 1e9,
                memory=resources.get("MemoryBytes", 0),
                prepared=node_prepared(attrs),
                participants=tuple(sorted(running.get(node_id, []))),
                lives_here=tuple(sorted(placed.get(node_id, []))),
            )
        )
    return sorted(found, key=lambda n: (n.role != "manager", n.hostname))
