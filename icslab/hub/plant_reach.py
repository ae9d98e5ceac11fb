"""Swarm mode: a participant's server reaches its team's live plant from any node.

Docker mode joins a team's servers to a bridge of its own with inter-container traffic
off (icslab.plant.networks); an overlay has no such switch, and a bridge stays on one
node. So, on a swarm:

  - The plants run in one container on the manager (icslab.plant.sandbox), first on
    `<prefix>-plants`, an internal overlay with nothing else on it.
  - When a server of a team with a plant starts, or the plants come up while it runs,
    the plants' container joins that participant's own overlay (icslab.hub.swarm_spawner:
    their server and nothing else), named `plant` there. So nobody shares a network
    with another participant, and every server finds its plant at the same name.
  - The plants listen on every address of their container. A table in the container's
    own network namespace admits a participant's address only to their own team's
    plant's ports. The plants run without capabilities, so the lab sets it from the
    host, as root, into that namespace; the addresses come from the engine, never
    from a participant.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import APIError

from icslab.errors import InputError
from icslab.hub.docker_env import LAB_LABEL
from icslab.hub.firewall import FAMILY, nft_in
from icslab.hub.teams import SHARED_PLANT, plants_container, plants_run_by
from icslab.lab import record_plant_server
from icslab.waiting import wait_for

ALIAS = "plant"  # the plants' container's name on each participant's network
TABLE = "icslab-plants"  # in the plants' container's namespace: no other lab's there


def plants_network(prefix: str) -> str:
    """The plants' container's first network: internal, nothing else on it."""
    return f"{prefix}-plants"


def ensure_plants_network(api: docker.APIClient, prefix: str) -> str:
    name = plants_network(prefix)
    if not any(n["Name"] == name for n in api.networks(names=[name])):
        api.create_network(
            name, driver="overlay", internal=True, attachable=True, labels={LAB_LABEL: prefix}
        )
    return name


ATTACH_SECONDS = 120  # a swarm's attachment to an attachable overlay, retried this long


def attached(call: Callable[[], object], api: docker.APIClient, network: str) -> None:
    """`call` (start a container on, or connect it to, the attachable overlay `network`),
    tried again while the swarm is slow to attach it: it times out allocating the
    attachment (moby#41841), or the node's copy of the overlay is still being torn down
    after the last container left it (moby#25298). A network gone from the swarm, or any
    other error, is raised at once."""
    last: list[APIError] = []

    def passing(error: APIError) -> bool:
        if "attaching to network failed" in str(error):
            return True
        return f"network {network} not found" in str(error) and any(
            n["Name"] == network for n in api.networks(names=[network])
        )

    def done() -> bool:
        try:
            call()
        except APIError as error:
            if not passing(error):
                raise
            last[:] = [error]
            return False
        return True

    try:
        wait_for(done, timeout=ATTACH_SECONDS, what=f"the swarm to attach {network}")
    except TimeoutError as timeout:
        said = last[0].explanation or last[0]
        raise TimeoutError(f"{timeout}; the engine said: {said}") from None


def _set(plant: str) -> str:
    return f"t_{plant}"  # a set name starts with a letter; a team's may start with a digit


def ruleset(openings: dict[str, tuple[int, ...]]) -> str:
    """The table: each plant's ports for the addresses admitted to its set, nothing else
    from any network (loopback is the plants' own HMI and attacker)."""
    table = f"{FAMILY} {TABLE}"
    sets = "".join(f"\tset {_set(plant)} {{ type ipv4_addr; }}\n" for plant in openings)
    rules = "".join(
        f"\t\tip saddr @{_set(plant)} tcp dport {{ {', '.join(map(str, sorted(ports)))} }} accept\n"
        for plant, ports in openings.items()
    )
    return (
        f"table {table} {{\n{sets}"
        "\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
        '\t\tiif "lo" accept\n\t\tct state established,related accept\n'
        f"{rules}\t}}\n"
        # The container is on every teamed participant's network: it routes for nobody.
        "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n"
        "}\n"
    )


def guard_plants(pid: int, openings: dict[str, tuple[int, ...]]) -> None:
    """Install the table in the namespace of the plants' container (its main process)."""
    done = nft_in(pid, "-f", "-", stdin=ruleset(openings))
    if done.returncode != 0:
        raise InputError(f"nft could not guard the plants' container: {done.stderr.strip()}")


def admit(pid: int, plant: str, address: str) -> None:
    """Let `address` reach `plant`'s ports (nft parses its arguments: an address only)."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise InputError(f"{address!r} is not an IPv4 address: not admitted to a plant") from None
    done = nft_in(pid, "add", "element", FAMILY, TABLE, _set(plant), f"{{ {address} }}")
    if done.returncode != 0:
        raise InputError(f"nft could not admit {address} to plant {plant}: {done.stderr.strip()}")


def address_on(task: dict, network: str) -> str | None:
    """A swarm task's address on `network` (its attachments list each with a prefix)."""
    for attachment in task.get("NetworksAttachments") or []:
        if attachment["Network"]["Spec"]["Name"] == network and attachment.get("Addresses"):
            return attachment["Addresses"][0].split("/")[0]
    return None


def reach(
    api: docker.APIClient,
    prefix: str,
    plants_dir: Path,
    user: str,
    team: str,
    network: str,
    task: dict,
) -> str | None:
    """Let `user`'s running server (`task`, on their own `network`) reach their team's
    plant, or the room's shared one; the plant it reaches, None if no plant of theirs runs."""
    try:
        attrs = api.inspect_container(plants_container(prefix))
    except docker.errors.NotFound:
        return None
    running = plants_run_by(attrs) if attrs["State"]["Running"] else []
    plant = next((p for p in (team, SHARED_PLANT) if p in running), None)
    address = address_on(task, network)
    if plant is None or address is None:
        return None

    def connect() -> None:
        try:
            api.connect_container_to_network(attrs["Id"], network, aliases=[ALIAS])
        except APIError as error:
            if "already exists" not in str(error):
                raise

    attached(connect, api, network)
    admit(attrs["State"]["Pid"], plant, address)
    # The plant names a red team's writes from these (no Docker socket in its container).
    record_plant_server(plants_dir / plant, address, user)
    return plant
