"""The lab firewall's nft script and checks, without nft (tests/security runs it for real)."""

import json
import subprocess
from pathlib import Path

import pytest

from icslab.errors import InputError
from icslab.hub import firewall
from icslab.hub.firewall import LabFirewall, bridge_of, check, install, ruleset

FW = LabFirewall("icslab", "br-1a2b3c4d5e6f", "172.18.0.1", (8126, 8124, 8127))


def test_ruleset_replaces_one_table_named_after_the_prefix():
    text = ruleset(FW)
    lines = text.splitlines()
    # Declare, delete, create: one transaction whether or not the table exists.
    assert lines[:3] == [
        "table inet icslab-lab {}",
        "delete table inet icslab-lab",
        "table inet icslab-lab {",
    ]
    assert "type filter hook input priority filter; policy accept;" in text
    assert text.count("chain ") == 1
    assert "ip filter" not in text and "ip nat" not in text  # Docker's tables


def test_ruleset_allows_the_ports_on_the_gateway_and_drops_the_rest():
    rules = [line.strip() for line in ruleset(FW).splitlines() if "iifname" in line]
    assert rules == [
        'iifname "br-1a2b3c4d5e6f" ct state established,related ct direction reply accept',
        'iifname "br-1a2b3c4d5e6f" ip daddr 172.18.0.1 tcp dport { 8124, 8126, 8127 } accept',
        'iifname "br-1a2b3c4d5e6f" counter drop',
        'iifname != { "lo", "br-1a2b3c4d5e6f" } ip daddr 172.18.0.1 counter drop',
    ]


@pytest.mark.parametrize("prefix", ["Icslab", "1lab", "ics_lab", "ics lab", "a" * 22, "", "x;y"])
def test_a_prefix_that_cannot_name_a_table_is_refused(prefix):
    with pytest.raises(InputError, match="cannot name the lab's firewall table"):
        LabFirewall(prefix, "br-1a2b3c4d5e6f", "172.18.0.1", (8124,))
    with pytest.raises(InputError, match="cannot name"):
        firewall.remove(prefix)  # refused before nft runs


@pytest.mark.parametrize("prefix", ["a", "icslab", "ics-lab-2", "a" * 21])
def test_prefixes_as_settings_allow_them_are_accepted(prefix):
    assert LabFirewall(prefix, "br-1a2b3c4d5e6f", "172.18.0.1", (1,)).table == f"{prefix}-lab"


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InputError) as raised:
        LabFirewall("icslab", 'br"; flush ruleset', "172.18.0.300", (0, 70000))
    assert len(raised.value.problems) == 3
    with pytest.raises(InputError, match="at least one port"):
        LabFirewall("icslab", "br-1a2b3c4d5e6f", "172.18.0.1", ())


def test_bridge_of_a_network_id():
    assert bridge_of("1a2b3c4d5e6f" + "0" * 52) == "br-1a2b3c4d5e6f"
    with pytest.raises(InputError, match="not a Docker network id"):
        bridge_of("icslab-net")


def nft_json(*rules: list[dict]) -> str:
    """`nft -j list table` as nft 1.0.6 prints it."""
    chain = {"family": "inet", "table": "icslab-lab", "name": "input", "handle": 1}
    chain |= {"type": "filter", "hook": "input", "prio": 0, "policy": "accept"}
    objects = [{"metainfo": {"version": "1.0.6"}}, {"table": {"name": "icslab-lab"}}]
    objects += [{"chain": chain}]
    objects += [
        {"rule": {"chain": "input", "handle": n, "expr": expr}} for n, expr in enumerate(rules, 2)
    ]
    return json.dumps({"nftables": objects})


def match(left: dict, right, op: str = "==") -> dict:
    return {"match": {"op": op, "left": left, "right": right}}


IIF = {"meta": {"key": "iifname"}}
DADDR = {"payload": {"protocol": "ip", "field": "daddr"}}
DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}
COUNTER = {"counter": {"packets": 3, "bytes": 180}}
RULES = [
    [
        match(IIF, "br-1a2b3c4d5e6f"),
        match({"ct": {"key": "state"}}, ["established", "related"], "in"),
        match({"ct": {"key": "direction"}}, "reply"),
        {"accept": None},
    ],
    [
        match(IIF, "br-1a2b3c4d5e6f"),
        match(DADDR, "172.18.0.1"),
        match(DPORT, {"set": [8124, 8126, 8127]}),
        {"accept": None},
    ],
    [match(IIF, "br-1a2b3c4d5e6f"), COUNTER, {"drop": None}],
    [
        match(IIF, {"set": ["lo", "br-1a2b3c4d5e6f"]}, "!="),
        match(DADDR, "172.18.0.1"),
        COUNTER,
        {"drop": None},
    ],
]


def answering(monkeypatch, stdout: str = "", stderr: str = "", code: int = 0) -> None:
    def nft(*args, stdin=None):
        return subprocess.CompletedProcess(["nft", *args], code, stdout, stderr)

    monkeypatch.setattr(firewall, "_nft", nft)


def test_check_accepts_the_installed_rules(monkeypatch):
    answering(monkeypatch, nft_json(*RULES))
    assert check(FW) == []


def test_check_reports_a_missing_rule_a_stranger_and_a_missing_table(monkeypatch):
    answering(monkeypatch, nft_json(RULES[0], RULES[2], RULES[3]))
    assert check(FW) == [
        "rule missing: iifname == br-1a2b3c4d5e6f, ip daddr == 172.18.0.1, "
        "tcp dport == 8124,8126,8127: accept"
    ]
    answering(monkeypatch, nft_json(*RULES[:3], [match(DPORT, 22), {"accept": None}], RULES[3]))
    assert check(FW) == ["rule not the lab's: tcp dport == 22: accept"]
    answering(monkeypatch, nft_json(*reversed(RULES)))
    assert check(FW) == ["chain input's rules are out of order or repeated"]
    answering(monkeypatch, stderr="Error: No such file or directory", code=1)
    assert check(FW) == ["table inet icslab-lab is missing: the lab's firewall is not installed"]


def test_check_wants_the_ports_of_this_lab(monkeypatch):
    answering(monkeypatch, nft_json(*RULES))
    assert len(check(LabFirewall("icslab", "br-1a2b3c4d5e6f", "172.18.0.1", (8124,)))) == 2


def test_install_says_what_to_do_when_nft_cannot(monkeypatch):
    answering(monkeypatch, stderr="Error: Could not process rule: Operation not permitted", code=1)
    with pytest.raises(InputError, match="Operation not permitted; run as root"):
        install(FW)
    monkeypatch.undo()
    monkeypatch.setattr(firewall.shutil, "which", lambda name: None)
    monkeypatch.setattr(firewall, "Path", lambda path: Path("/nonexistent/nft"))
    with pytest.raises(InputError, match="apt-get install nftables"):
        install(FW)


def test_the_plants_table_opens_each_plant_network_to_its_own_plant_only():
    water = firewall.PlantOpening("br-aaaaaaaaaaaa", "172.30.1.1", (5021, 5020))
    power = firewall.PlantOpening("br-bbbbbbbbbbbb", "172.30.2.1", (6021,))
    text = firewall.plants_ruleset("icslab", [water, power])
    assert text.splitlines()[:3] == [
        "table inet icslab-plants {}",
        "delete table inet icslab-plants",
        "table inet icslab-plants {",
    ]
    rules = [line.strip() for line in text.splitlines() if "iifname" in line]
    assert rules == [
        'iifname "br-aaaaaaaaaaaa" ct state established,related ct direction reply accept',
        'iifname "br-aaaaaaaaaaaa" ip daddr 172.30.1.1 tcp dport { 5020, 5021 } accept',
        'iifname "br-aaaaaaaaaaaa" counter drop',
        'iifname "br-bbbbbbbbbbbb" ct state established,related ct direction reply accept',
        'iifname "br-bbbbbbbbbbbb" ip daddr 172.30.2.1 tcp dport { 6021 } accept',
        'iifname "br-bbbbbbbbbbbb" counter drop',
        'iifname != { "lo", "br-aaaaaaaaaaaa", "br-bbbbbbbbbbbb" } ip daddr { 172.30.1.1, '
        "172.30.2.1 } counter drop",
    ]


def test_a_plant_opening_with_a_bad_field_is_refused():
    with pytest.raises(InputError, match="not an interface name"):
        firewall.plants_ruleset("icslab", [firewall.PlantOpening("br x", "172.30.1.1", (1,))])


SWARM = LabFirewall("icslab", "docker_gwbridge", "10.0.0.1", (8124, 8126), ("10.0.0.1", "10.0.0.2"))


def test_a_swarm_managers_table_guards_only_the_lab_ports_on_its_lan_address():
    """The manager's address is on the LAN, where the swarm itself needs it: other
    interfaces reach the lab's ports there only from the swarm's nodes."""
    text = ruleset(SWARM)
    assert 'iifname "docker_gwbridge" ip daddr 10.0.0.1 tcp dport { 8124, 8126 } accept' in text
    assert (
        'iifname != { "lo", "docker_gwbridge" } ip daddr 10.0.0.1 tcp dport { 8124, 8126 } '
        "ip saddr != { 10.0.0.1, 10.0.0.2 } counter drop"
    ) in text
    assert "ip daddr 10.0.0.1 counter drop" not in text  # the swarm's own ports stay open


def test_a_swarm_firewall_without_nodes_or_with_a_bad_one_is_refused():
    with pytest.raises(InputError, match="needs its nodes' addresses"):
        LabFirewall("icslab", "docker_gwbridge", "10.0.0.1", (8124,), ())
    with pytest.raises(InputError, match="node 'node2' is not an IPv4 address"):
        LabFirewall("icslab", "docker_gwbridge", "10.0.0.1", (8124,), ("10.0.0.1", "node2"))
