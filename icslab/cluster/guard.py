"""Every node's lab firewall, set by a global swarm service (the node guard).

The lab's firewall on one server guards the lab network's bridge. On a swarm,
containers leave every node by `docker_gwbridge` (NAT), and the lab does not own the
other machines: a global service of the participant image, on the host's network
with only NET_ADMIN, installs one table on each prepared node (a node that joins
later gets it when it joins). From `docker_gwbridge` a container may reach the
lab's ports on the manager's address and nothing else: not the node itself (nor
other participants' published ports there), not another node, not the internet.
Replies to connections the hub opened pass.

The table stays when the service stops: a node is never left open between two
starts of the lab; the next guard replaces it in one transaction.
"""

from __future__ import annotations

import hashlib

import docker
from docker.types import EndpointSpec, Healthcheck, Resources, ServiceMode

from icslab.errors import InputError
from icslab.hub.docker_env import LAB_LABEL
from icslab.hub.firewall import FAMILY, node_table
from icslab.hub.swarm_spawner import GWBRIDGE, ON_PREPARED_NODES, node_prepared
from icslab.waiting import wait_for

RULESET_LABEL = "org.icslab.ruleset"
FAILED_STARTS = 2  # a guard that stops at once, again, found its node unprepared
NODE_ID_LOG = "com.docker.swarm.node.id"  # a service log line's detail: where it was said


def guard_name(prefix: str) -> str:
    return f"{prefix}-node-guard"


def ruleset(prefix: str, manager: str, ports: tuple[int, ...]) -> str:
    table = f"{FAMILY} {node_table(prefix)}"
    opened = ", ".join(str(port) for port in sorted(set(ports)))
    rules = (
        f'iifname "{GWBRIDGE}" ct state established,related ct direction reply accept',
        f'iifname "{GWBRIDGE}" ip daddr {manager} tcp dport {{ {opened} }} accept',
        f'iifname "{GWBRIDGE}" counter drop',
    )
    body = "".join(f"\t\t{rule}\n" for rule in rules)
    chains = "".join(
        f"\tchain {hook} {{\n\t\ttype filter hook {hook} priority filter; policy accept;\n"
        f"{body}\t}}\n"
        for hook in ("input", "forward")
    )
    return f"table {table} {{}}\ndelete table {table}\ntable {table} {{\n{chains}}}\n"


def script(prefix: str) -> str:
    """What the guard runs on each node: the node's checks, then the table (in $RULESET)."""
    return (
        # A node with swap, or whose engine lacks no-new-privileges, would run servers
        # beyond their memory or able to gain privileges: it stays unguarded, so `icslab
        # up` names it.
        '[ "$(wc -l < /proc/swaps)" -le 1 ] || { echo \'swap is on on this node: a server '
        "could use as much swap again as its memory limit; see the join steps'; exit 1; }\n"
        "grep -q '^NoNewPrivs:.1$' /proc/self/status"
        " || { echo 'no-new-privileges is off on this engine: see the join steps'; exit 1; }\n"
        'printf "%s" "$RULESET" | nft -f - || exit 1\n'
        # One lab per swarm: another lab's table left on this node would drop what this
        # lab's servers send to its own ports.
        f"nft list tables | while read -r _ family table; do case $table in "
        f"*-lab-node) [ $table = {node_table(prefix)} ] || nft delete table $family $table;; "
        "esac; done\n"
        'echo "lab firewall installed"\n'
        "trap 'exit 0' TERM\n"  # the table stays: see the module's docstring
        "sleep infinity & wait\n"
    )


def ensure_guard(
    engine: docker.DockerClient, prefix: str, image: str, manager: str, ports: tuple[int, ...]
) -> str:
    """The node guard, running this ruleset on every prepared node; its service name."""
    rules = ruleset(prefix, manager, ports)
    digest = hashlib.sha256(f"{image}\n{rules}\n{script(prefix)}".encode()).hexdigest()[:16]
    name = guard_name(prefix)
    others = other_labs(engine, prefix)
    if others:
        raise InputError(
            f"another lab runs on this swarm (docker.prefix {', '.join(others)}): one lab per "
            "swarm, since each node's firewall serves one lab. Stop it and remove its services "
            "(`icslab docker clean` with its settings) first"
        )
    found = engine.services.list(filters={"name": name})
    current = [s for s in found if s.name == name]
    if current and current[0].attrs["Spec"]["Labels"].get(RULESET_LABEL) == digest:
        return name
    for service in current:
        service.remove()
    engine.services.create(
        image,
        command=["sh", "-c", script(prefix)],
        name=name,
        env=[f"RULESET={rules}"],
        user="0",
        cap_add=["NET_ADMIN"],
        networks=["host"],
        mode=ServiceMode("global"),
        constraints=[ON_PREPARED_NODES],
        resources=Resources(mem_limit=64 * 2**20, cpu_limit=100_000_000),
        endpoint_spec=EndpointSpec(),
        # A swarm task with a health check is "running" only once healthy: the table is in.
        healthcheck=Healthcheck(
            test=["CMD", "nft", "list", "table", FAMILY, node_table(prefix)],
            interval=1_000_000_000,
            timeout=5_000_000_000,
            retries=3,
        ),
        labels={LAB_LABEL: prefix, RULESET_LABEL: digest},
    )
    return name


def other_labs(engine: docker.DockerClient, prefix: str) -> list[str]:
    """The prefixes of other labs guarding this swarm's nodes (one lab per swarm)."""
    services = engine.services.list(filters={"label": RULESET_LABEL})
    found = {s.attrs["Spec"]["Labels"].get(LAB_LABEL, "") for s in services}
    return sorted(found - {prefix})


def unguarded_nodes(engine: docker.DockerClient, prefix: str) -> list[str]:
    """Prepared, ready nodes where the guard has not installed its table yet."""
    service = engine.services.get(guard_name(prefix))
    running = {
        task["NodeID"]
        for task in service.tasks(filters={"desired-state": "running"})
        if task["Status"]["State"] == "running"
    }
    prepared = [
        node
        for node in engine.nodes.list()
        if node_prepared(node.attrs) and node.attrs["Status"]["State"] == "ready"
    ]
    return [node.attrs["Description"]["Hostname"] for node in prepared if node.id not in running]


def refusing_nodes(
    engine: docker.DockerClient, prefix: str, earlier: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Nodes where the guard failed or was rejected FAILED_STARTS times (tasks not in
    `earlier`: a node mended since keeps its old failures), and why: the guard's own
    words (swap on, no-new-privileges off) or the engine's (cannot pull)."""
    service = engine.services.get(guard_name(prefix))
    stops: dict[str, list[str]] = {}  # node id -> the engine's word on each stop
    for task in service.tasks():
        if task["ID"] not in earlier and task["Status"]["State"] in ("failed", "rejected"):
            stops.setdefault(task["NodeID"], []).append(task["Status"].get("Err", ""))
    refusing = {
        str(node.id): node.attrs["Description"]["Hostname"]
        for node in engine.nodes.list()
        if len(stops.get(str(node.id), [])) >= FAILED_STARTS
    }
    if not refusing:
        return {}
    said: dict[str, set[str]] = {}  # node id -> what the guard said there
    for line in service.logs(stdout=True, stderr=True, details=True):
        details, _, message = line.decode(errors="replace").strip().partition(" ")
        node_id = dict(d.split("=", 1) for d in details.split(",") if "=" in d).get(NODE_ID_LOG)
        if node_id and "join steps" in message:
            said.setdefault(node_id, set()).add(message)
    return {
        hostname: "; ".join(sorted(said.get(node_id) or set(stops[node_id])))
        for node_id, hostname in refusing.items()
    }


def wait_guarded(engine: docker.DockerClient, prefix: str, timeout: float = 900) -> None:
    """Until every prepared node runs the guard (a first start pulls the image there),
    or its guard stops again and again on a node: that node is named, and why."""
    earlier = frozenset(t["ID"] for t in engine.services.get(guard_name(prefix)).tasks())

    def guarded() -> bool:
        refusing = refusing_nodes(engine, prefix, earlier)
        if refusing:
            raise InputError(*(f"the lab firewall cannot start on {node}: {why}"
                               for node, why in refusing.items()))  # fmt: skip
        return not unguarded_nodes(engine, prefix)

    try:
        wait_for(guarded, timeout=timeout, what="the lab firewall on every node")
    except TimeoutError:
        missing = ", ".join(unguarded_nodes(engine, prefix))
        raise InputError(
            f"the lab firewall is not running on {missing} after {timeout:.0f} s: see "
            f"`docker service ps --no-trunc {guard_name(prefix)}` and its logs: a node that "
            "cannot pull the image has not trusted the lab CA (step 1 of the join steps), "
            "one whose engine lacks no-new-privileges or that has swap on skipped step 2"
        ) from None
