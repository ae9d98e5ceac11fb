"""Swarm mode's spawner: each participant's server is a Docker Swarm service, pinned to
the node that holds their work.

What differs from docker mode, and why:
  - Work volumes are local to a node, so a participant's service is pinned to the
    node their first start landed on (kept in the spawner's state and in the
    cluster's placement record, which `icslab cluster move` rewrites). A team lives
    on one node: its shared volume is there.
  - This kernel has no IPVS (no routing mesh, no VIPs): the server's port is
    published in host mode on its node, and the hub reaches node-address:port.
  - Each participant has an overlay network of their own: no other participant's
    container is on it.
  - Docker 20.10's service spec carries no no-new-privileges and no swap limit: the
    node's engine sets no-new-privileges (`icslab cluster init` prints how), and only
    nodes whose engine carries the lab's label get participants.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
from pathlib import Path

import dockerspawner
from docker.types import DriverConfig, Mount, Resources
from traitlets import Int, List, Unicode

from icslab.files import write_atomic
from icslab.hub import plant_reach
from icslab.hub.docker_env import LAB_LABEL
from icslab.hub.spawners import JoinsPlants, ProbesListening, wait_until_listening

NODE_LABEL = "org.icslab.node"  # an engine label: the node was prepared for participants
PREPARED_LABEL = f"{NODE_LABEL}=prepared"
ON_PREPARED_NODES = f"engine.labels.{NODE_LABEL}==prepared"  # a placement constraint
USER_LABEL = "org.icslab.user"  # a service label: whose server it is
PLACEMENT_FILE = "placement.json"
# The bridge swarm containers leave their node by (made by the lab, without
# inter-container traffic): the node firewalls guard it.
GWBRIDGE = "docker_gwbridge"
SERVER_PORT = 8888


def node_prepared(attrs: dict) -> bool:
    """Whether a node (`docker node inspect`) carries the lab's engine label."""
    labels = attrs.get("Description", {}).get("Engine", {}).get("Labels") or {}
    return labels.get(NODE_LABEL) == "prepared"


def node_address(attrs: dict) -> str:
    """A node's address; a manager may report 0.0.0.0 there and its own in ManagerStatus."""
    address = attrs.get("Status", {}).get("Addr", "")
    if address in ("", "0.0.0.0"):
        address = attrs.get("ManagerStatus", {}).get("Addr", "").rsplit(":", 1)[0]
    return address


def joined_later(attrs: dict, started_with: list[str]) -> bool:
    """Whether a node joined after the lab started: the lab firewall learnt the nodes'
    addresses (`started_with`) at `icslab up`, and lets only their servers reach the hub.
    A lab that listed none restricts no node."""
    return bool(started_with) and node_address(attrs) not in started_with


def own_network(prefix: str, user: str) -> str:
    """A participant's overlay: their server, and the plants' container once their team
    has a plant (icslab.hub.plant_reach)."""
    return f"{prefix}-net-{user}"


def read_placement(cluster_dir: Path) -> dict[str, str]:
    """Which node each participant's work lives on (user -> node id)."""
    try:
        return json.loads((Path(cluster_dir) / PLACEMENT_FILE).read_text())
    except FileNotFoundError:
        return {}


def record_placement(cluster_dir: Path, user: str, node_id: str) -> None:
    """Pin `user` to `node_id`, under a lock: the hub and `icslab cluster move` both write."""
    folder = Path(cluster_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{PLACEMENT_FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        placement = read_placement(folder)
        placement[user] = node_id
        data = json.dumps(dict(sorted(placement.items())), indent=2).encode()
        write_atomic(folder / PLACEMENT_FILE, data, 0o644)


class SwarmSpawner(ProbesListening, JoinsPlants, dockerspawner.SwarmSpawner):
    """A participant's server as a swarm service, pinned to the node with their work."""

    cluster_dir = Unicode("", config=True, help="The lab's cluster folder (LabPaths.cluster).")
    pids_limit = Int(512, config=True, help="Most processes a participant's container may run.")
    team_members = Unicode(
        "{}", config=True, help="JSON: each participant's teammates (a team lives on one node)."
    )
    node = Unicode("", help="The node id this participant's work lives on (spawner state).")
    node_addresses = List(
        Unicode(),
        config=True,
        help="The nodes' addresses at `icslab up`, which the manager's firewall lets reach "
        "the lab: a node that joined since gets no server until the lab starts again.",
    )

    def get_state(self):
        state = super().get_state()
        if self.node:
            state["node"] = self.node
        return state

    def load_state(self, state):
        super().load_state(state)
        self.node = state.get("node", self.node)

    def clear_state(self):
        node = self.node  # a stopped server's work stays on its node
        super().clear_state()
        self.node = node

    @property
    def mounts(self):
        # Named volumes (dockerspawner's SwarmSpawner mounts everything as binds).
        return [
            Mount(target=bind["bind"], source=source, type="volume", read_only=bind["mode"] == "ro")
            for source, bind in self.volume_binds.items()
        ]

    def pinned_node(self) -> str:
        """The recorded node (a move rewrites the record), else a teammate's."""
        placement = read_placement(Path(self.cluster_dir))
        if self.user.name in placement:
            return placement[self.user.name]
        if self.node:
            return self.node
        for mate in json.loads(self.team_members).get(self.user.name, []):
            if mate in placement:
                return placement[mate]
        return ""

    async def create_object(self):
        pinned = self.pinned_node()
        constraints = [ON_PREPARED_NODES]
        if pinned:
            constraints.append(f"node.id=={pinned}")
        constraints += [f"node.id!={node_id}" for node_id in await self._late_nodes()]
        self.extra_placement_spec = {"constraints": constraints}
        resources = Resources(
            mem_limit=self.mem_limit,
            cpu_limit=int(self.cpu_limit * 1e9) if self.cpu_limit else None,
        )
        resources["Limits"]["Pids"] = self.pids_limit
        self.extra_task_spec = {
            "resources": resources,
            "log_driver": DriverConfig("json-file", {"max-size": "10m", "max-file": "3"}),
            "networks": [await self._own_network()],
        }
        self.extra_container_spec = {"user": "1000:100", "cap_drop": ["ALL"]}
        self.extra_endpoint_spec = {
            "ports": [{"Protocol": "tcp", "TargetPort": SERVER_PORT, "PublishMode": "host"}]
        }
        self.extra_create_kwargs = {"labels": {USER_LABEL: self.user.name, LAB_LABEL: self.prefix}}
        return await super().create_object()

    async def _late_nodes(self) -> list[str]:
        """Nodes that joined after the lab started: their servers could not reach it."""
        if not self.node_addresses:
            return []
        nodes = await self.docker("nodes")
        return [n["ID"] for n in nodes if joined_later(n, self.node_addresses)]

    async def _own_network(self) -> str:
        name = own_network(self.prefix, self.escaped_name)
        found = [n for n in await self.docker("networks", names=[name]) if n["Name"] == name]
        if found and not found[0].get("Attachable"):
            # Made before the plants joined participants' networks: the plants' container
            # can join only an attachable one. Nothing runs on it while its server is off.
            await self.docker("remove_network", found[0]["Id"])
            found = []
        if not found:
            await self.docker(
                "create_network", name, driver="overlay", attachable=True,
                labels={LAB_LABEL: self.prefix},
            )  # fmt: skip
        return name

    async def start(self):
        ip, port = await super().start()
        task = await self.get_task()
        self.node = task["NodeID"]
        record_placement(Path(self.cluster_dir), self.user.name, self.node)
        team = self.environment.get("ICSLAB_TEAM")
        if team:  # its team's live plant, if one runs (`icslab plant up` joins it otherwise)
            network, plants = own_network(self.prefix, self.escaped_name), Path(self.plants_dir)
            await asyncio.to_thread(
                plant_reach.reach, self.client, self.prefix, plants, self.user.name, team,
                network, task,
            )  # fmt: skip
        await wait_until_listening(self, ip, port)
        return ip, port

    async def get_ip_and_port(self):
        task = await self.get_task()
        address = node_address(await self.docker("inspect_node", task["NodeID"]))
        for published in task.get("Status", {}).get("PortStatus", {}).get("Ports", []):
            if published["TargetPort"] == SERVER_PORT:
                return address, published["PublishedPort"]
        raise RuntimeError(f"{self.service_name}: its node published no port for the server")
