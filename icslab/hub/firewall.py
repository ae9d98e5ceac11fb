"""Host firewall rules for docker mode, in an nftables table of the lab's own.

The lab network is `--internal` with inter-container traffic off, but that says nothing
about the host itself, and two holes remain:

1. A container reaches every port of the host: the lab's services on the bridge's
   gateway address, and also sshd, a database, anything bound to 0.0.0.0 or to the
   gateway. Only the lab's TCP ports on the gateway address may answer.
2. The lab binds its services on the gateway address, and the host delivers packets
   for any of its addresses arriving on any interface: a LAN host routing to the
   gateway address would reach them. Only the bridge and the host itself (`lo`) may.

One table, `inet <prefix>-lab`, with one chain, `input` (hook input, priority filter,
policy accept), closes both. It is replaced atomically (one `nft -f` transaction) and
never touches Docker's own tables (`ip filter`, `ip nat`, managed by iptables-nft): a
drop in any base chain is final, so ours need not be merged with theirs.

Established traffic from the bridge is accepted only in the reply direction (replies to
connections the host opened, e.g. the hub to each server): a container's own connection
to a forbidden port, opened before the table existed, is then cut when it is installed
rather than kept alive by conntrack.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icslab.errors import InputError

PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,20}$")  # as docker.prefix in settings
BRIDGE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # IFNAMSIZ, and nothing to quote
FAMILY = "inet"  # both IP families: a container's IPv6 link-local path to the host too
CHAIN = "input"
INSTALL_HINT = "install nftables (`apt-get install nftables`)"
ROOT_HINT = "run as root: nft needs CAP_NET_ADMIN"


def table_name(prefix: str) -> str:
    if not PREFIX.fullmatch(prefix):
        raise InputError(
            f"docker prefix {prefix!r} cannot name the lab's firewall table: use lowercase "
            "letters, digits and '-', starting with a letter, at most 21 characters"
        )
    return f"{prefix}-lab"


def node_table(prefix: str) -> str:
    """Swarm mode: the table the node guard installs on every node (icslab.cluster.guard)."""
    return f"{table_name(prefix)}-node"


def remove_node_table(prefix: str) -> bool:
    """This machine's node-guard table (the other nodes keep theirs); True if it was there."""
    done = _nft("delete", "table", FAMILY, node_table(prefix))
    return _absent_or(done, prefix)


@dataclass(frozen=True)
class LabFirewall:
    prefix: str  # the lab's docker prefix: the table is `inet <prefix>-lab`
    bridge: str  # the lab network's bridge interface, see bridge_of()
    gateway: str  # the bridge's gateway IPv4 address, where the lab binds its services
    ports: tuple[int, ...]  # TCP ports containers may reach on the gateway
    # Swarm mode: the gateway is the manager's LAN address, which the swarm needs; only
    # the lab's ports there are guarded, and the swarm's nodes (their NATed containers)
    # may reach them. None: a bridge gateway no other interface may reach (docker mode).
    nodes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        problems = []
        try:
            table_name(self.prefix)
        except InputError as error:
            problems += error.problems
        if not BRIDGE.fullmatch(self.bridge):
            problems.append(f"bridge {self.bridge!r} is not an interface name")
        try:
            ipaddress.IPv4Address(self.gateway)
        except ValueError:
            problems.append(f"gateway {self.gateway!r} is not an IPv4 address")
        if not self.ports:
            problems.append("the lab firewall needs at least one port")
        for node in self.nodes or ():
            try:
                ipaddress.IPv4Address(node)
            except ValueError:
                problems.append(f"node {node!r} is not an IPv4 address")
        if self.nodes == ():
            problems.append("a swarm lab's firewall needs its nodes' addresses")
        bad = [p for p in self.ports if type(p) is not int or not 0 < p < 65536]
        if bad:
            problems.append(f"not TCP ports: {bad}")
        if problems:
            raise InputError(*problems)

    @property
    def table(self) -> str:
        return table_name(self.prefix)


def bridge_of(network_id: str) -> str:
    """The interface of a Docker bridge network: "br-" + the first 12 characters of its id.

    Unless the network was created with the option com.docker.network.bridge.name, which
    the lab's network is not (see docker_env.ensure_network); then ask `docker network
    inspect` for Options instead.
    """
    if not re.fullmatch(r"[0-9a-f]{12,64}", network_id):
        raise InputError(f"{network_id!r} is not a Docker network id")
    return f"br-{network_id[:12]}"


def ruleset(fw: LabFirewall) -> str:
    ports = ", ".join(str(p) for p in sorted(set(fw.ports)))
    br, gw, table = f'"{fw.bridge}"', fw.gateway, f"{FAMILY} {fw.table}"
    others = f'iifname != {{ "lo", {br} }} ip daddr {gw}'
    if fw.nodes is None:
        guard_others = f"{others} counter drop"
    else:
        nodes = ", ".join(sorted(set(fw.nodes)))
        guard_others = f"{others} tcp dport {{ {ports} }} ip saddr != {{ {nodes} }} counter drop"
    # Declaring the table first makes the delete succeed when it is absent: one transaction.
    return f"""table {table} {{}}
delete table {table}
table {table} {{
\tchain {CHAIN} {{
\t\ttype filter hook input priority filter; policy accept;
\t\tiifname {br} ct state established,related ct direction reply accept
\t\tiifname {br} ip daddr {gw} tcp dport {{ {ports} }} accept
\t\tiifname {br} counter drop
\t\t{guard_others}
\t}}
}}
"""


def install(fw: LabFirewall) -> None:
    done = _nft("-f", "-", stdin=ruleset(fw))
    if done.returncode != 0:
        raise InputError(f"nft could not install table {FAMILY} {fw.table}: {_why(done)}")


def installed(prefix: str) -> str | None:
    """`nft list table` of the lab's table, or None if there is none."""
    done = _nft("list", "table", FAMILY, table_name(prefix))
    return done.stdout if _absent_or(done, prefix) else None


def check(fw: LabFirewall) -> list[str]:
    """What differs between the installed table and `fw`; empty when all is in place."""
    done = _nft("-j", "list", "table", FAMILY, fw.table)
    if not _absent_or(done, fw.prefix):
        return [f"table {FAMILY} {fw.table} is missing: the lab's firewall is not installed"]
    objects = [item for item in json.loads(done.stdout)["nftables"] if "metainfo" not in item]
    chains = [o["chain"] for o in objects if "chain" in o]
    rules = [o["rule"] for o in objects if "rule" in o]
    problems = []
    if [c["name"] for c in chains] != [CHAIN]:
        problems.append(f"table {FAMILY} {fw.table} has chains {[c['name'] for c in chains]}")
    hooked = {k: chains[0].get(k) for k in ("type", "hook", "prio", "policy")} if chains else {}
    if chains and hooked != {"type": "filter", "hook": "input", "prio": 0, "policy": "accept"}:
        problems.append(f"chain {CHAIN} is not an accepting filter on input: {hooked}")
    found = [_rule_key(r["expr"]) for r in rules if r["chain"] == CHAIN]
    wanted = _wanted(fw)
    problems += [f"rule missing: {_show(w)}" for w in wanted if w not in found]
    problems += [f"rule not the lab's: {_show(f)}" for f in found if f not in wanted]
    if found != wanted and set(found) == set(wanted):
        problems.append(f"chain {CHAIN}'s rules are out of order or repeated")
    return problems


def remove(prefix: str) -> bool:
    """Delete the lab's table; True if it was there."""
    done = _nft("delete", "table", FAMILY, table_name(prefix))
    return _absent_or(done, prefix)


# A rule as a set of (field, values) matches plus its verdict: counters, handles and
# whether nft printed one value or a set of one do not matter.
RuleKey = frozenset[tuple[str, str, frozenset[Any]]]


def _wanted(fw: LabFirewall) -> list[RuleKey]:
    def rule(verdict: str, *matches: tuple[str, str, set[Any]]) -> RuleKey:
        return frozenset(
            {("verdict", "", frozenset({verdict}))}
            | {(f, op, frozenset(v)) for f, op, v in matches}
        )

    br = ("meta.iifname", "==", {fw.bridge})
    gw = ("ip.daddr", "==", {fw.gateway})
    return [
        rule(
            "accept",
            br,
            ("ct.state", "==", {"established", "related"}),
            ("ct.direction", "==", {"reply"}),
        ),
        rule("accept", br, gw, ("tcp.dport", "==", set(fw.ports))),
        rule("drop", br),
        rule("drop", ("meta.iifname", "!=", {"lo", fw.bridge}), gw)
        if fw.nodes is None
        else rule(
            "drop",
            ("meta.iifname", "!=", {"lo", fw.bridge}),
            gw,
            ("tcp.dport", "==", set(fw.ports)),
            ("ip.saddr", "!=", set(fw.nodes)),
        ),
    ]


def _rule_key(exprs: list[dict[str, Any]]) -> RuleKey:
    key = set()
    for expr in exprs:
        [(kind, body)] = expr.items()
        if kind == "match":
            left = body["left"]
            if "payload" in left:
                field = f"{left['payload'].get('protocol')}.{left['payload'].get('field')}"
            else:
                [(ns, sel)] = left.items()
                field = f"{ns}.{sel.get('key') if isinstance(sel, dict) else sel}"
            right = body["right"]
            values = right.get("set", [right]) if isinstance(right, dict) else right
            values = values if isinstance(values, list) else [values]
            op = "==" if body["op"] == "in" else body["op"]  # `in`: flags such as ct state
            plain = (
                v if isinstance(v, str | int) else json.dumps(v, sort_keys=True) for v in values
            )
            key.add((field, op, frozenset(plain)))
        elif kind != "counter":
            key.add(("verdict", "", frozenset({kind})))
    return frozenset(key)


def _show(key: RuleKey) -> str:
    """A rule in about nft's words, e.g. `iifname == br-x, tcp dport == 80,443: accept`."""
    order = {f: i for i, f in enumerate(["meta.iifname", "ct.state", "ct.direction", "ip.daddr"])}
    matches = sorted((m for m in key if m[1]), key=lambda m: (order.get(m[0], len(order)), m[0]))
    text = ", ".join(
        f"{f.removeprefix('meta.').replace('.', ' ')} {op} {','.join(sorted(map(str, v)))}"
        for f, op, v in matches
    )
    verdicts = ",".join(sorted(v for _, op, vs in key if not op for v in vs))
    return f"{text}: {verdicts or 'no verdict'}"


def _nft(
    *args: str, stdin: str | None = None, netns_of: int | None = None
) -> subprocess.CompletedProcess[str]:
    # /usr/sbin is not on every PATH (e.g. a non-login root shell via sudo -E).
    nft = shutil.which("nft") or ("/usr/sbin/nft" if Path("/usr/sbin/nft").exists() else None)
    if nft is None:
        raise InputError(f"nft is not installed: {INSTALL_HINT}")
    inside = ["nsenter", f"--target={netns_of}", "--net"] if netns_of is not None else []
    return subprocess.run(
        [*inside, nft, *args], input=stdin, capture_output=True, text=True, timeout=30, check=False
    )


def nft_in(pid: int, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """nft in the network namespace of process `pid` (a container's), as root."""
    return _nft(*args, stdin=stdin, netns_of=pid)


def _absent_or(done: subprocess.CompletedProcess[str], prefix: str) -> bool:
    """True if nft succeeded, False if the table is absent; any other failure is raised."""
    if done.returncode == 0:
        return True
    if "No such file or directory" in done.stderr:
        return False
    raise InputError(f"nft failed on table {FAMILY} {table_name(prefix)}: {_why(done)}")


def _why(done: subprocess.CompletedProcess[str]) -> str:
    message = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
    if "Operation not permitted" in message or "Permission denied" in message:
        return f"{message}; {ROOT_HINT}"
    if "Could not process rule" in message or "not supported" in message:
        return f"{message}; the kernel needs nf_tables (and nft_ct), or {INSTALL_HINT}"
    return message


@dataclass(frozen=True)
class PlantOpening:
    """Docker mode: a team's plant network, and the ports its plant listens on at the
    network's gateway address (icslab.plant.networks)."""

    bridge: str
    gateway: str
    ports: tuple[int, ...]


def plants_table(prefix: str) -> str:
    return f"{table_name(prefix)[: -len('-lab')]}-plants"


def plants_ruleset(prefix: str, openings: list[PlantOpening]) -> str:
    """`inet <prefix>-plants`: each plant network reaches its own plant's ports on its own
    gateway and nothing else of the host; no other interface reaches those addresses."""
    table = f"{FAMILY} {plants_table(prefix)}"
    rules = []
    for opening in openings:
        LabFirewall(prefix, opening.bridge, opening.gateway, opening.ports)  # checks them
        br = f'"{opening.bridge}"'
        ports = ", ".join(str(p) for p in sorted(set(opening.ports)))
        rules += [
            f"iifname {br} ct state established,related ct direction reply accept",
            f"iifname {br} ip daddr {opening.gateway} tcp dport {{ {ports} }} accept",
            f"iifname {br} counter drop",
        ]
    if openings:
        bridges = ", ".join(f'"{o.bridge}"' for o in openings)
        gateways = ", ".join(o.gateway for o in openings)
        rules.append(f'iifname != {{ "lo", {bridges} }} ip daddr {{ {gateways} }} counter drop')
    body = "".join(f"\t\t{rule}\n" for rule in rules)
    return f"""table {table} {{}}
delete table {table}
table {table} {{
\tchain {CHAIN} {{
\t\ttype filter hook input priority filter; policy accept;
{body}\t}}
}}
"""


def install_plants(prefix: str, openings: list[PlantOpening]) -> None:
    done = _nft("-f", "-", stdin=plants_ruleset(prefix, openings))
    if done.returncode != 0:
        raise InputError(
            f"nft could not install table {FAMILY} {plants_table(prefix)}: {_why(done)}"
        )


def remove_plants(prefix: str) -> bool:
    done = _nft("delete", "table", FAMILY, plants_table(prefix))
    return _absent_or(done, prefix)
