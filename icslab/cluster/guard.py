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


def ensure_guard(
    engine: docker.DockerClient, prefix: str, image: str, manager: str, ports: tuple[int, ...]
) -> str:
    """The node guard, running this ruleset on every prepared node; its service name."""
    rules = ruleset(prefix, manager, ports)
    digest = hashlib.sha256(f"{image}\n{rules}".encode()).hexdigest()[:16]
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
    script = (
        # An engine without no-new-privileges would run servers that can gain privileges:
        # its node stays unguarded, so `icslab up` names it.
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
    engine.services.create(
        image,
        command=["sh", "-c", script],
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


def wait_guarded(engine: docker.DockerClient, prefix: str, timeout: float = 900) -> None:
    """Until every prepared node runs the guard: a first start pulls the image there."""
    try:
        wait_for(
            lambda: not unguarded_nodes(engine, prefix),
            timeout=timeout,
            what="the lab firewall on every node",
        )
    except TimeoutError:
        missing = ", ".join(unguarded_nodes(engine, prefix))
        raise InputError(
            f"the lab firewall is not running on {missing} after {timeout:.0f} s: see "
            f"`docker service ps --no-trunc {guard_name(prefix)}` and its logs: a node that "
            "cannot pull the image has not trusted the lab CA (step 1 of the join steps), "
            "one whose engine lacks no-new-privileges skipped step 2"
        ) from None
