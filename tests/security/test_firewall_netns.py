"""The lab firewall against real kernel traffic, without Docker: a bridge with the lab's
gateway address, a "container" network namespace on it and a "lan" namespace routed to
the host over a veth pair, each probing the host's listeners before and after install.

Needs root and nft. Every interface, namespace and table is named after a random
per-test prefix (iclt<4 hex>) and only those are removed afterwards.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import secrets
import select
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from icslab.hub import firewall
from icslab.hub.firewall import LabFirewall

NFT = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")
IP = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
CONNECT_TIMEOUT = 1.5  # a dropped SYN shows as a timeout; a local answer takes milliseconds
ANSWER_DEADLINE = 15.0  # for an agent's reply: its own operations time out well before
NOT_INSTALLED = "the lab's firewall is not installed"


@pytest.fixture(autouse=True)
def root_and_nft() -> None:
    missing = "needs root" if os.geteuid() != 0 else "needs nft and ip" if not NFT or not IP else ""
    if missing and os.environ.get("CI"):
        pytest.fail(f"the firewall test {missing}: CI must run it, not skip it")
    if missing:
        pytest.skip(missing)


# Runs in a namespace (or on the host) and answers one JSON line per JSON command:
# probe targets concurrently, open/echo on a held connection, or listen as an echo server.
AGENT = r"""
import json, socket, sys, threading
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = float(sys.argv[1])
held = {}

def connect(host, port):
    try:
        return socket.create_connection((host, port), timeout=TIMEOUT), "ok"
    except TimeoutError:
        return None, "timeout"
    except OSError as error:
        return None, type(error).__name__

def echo(sock):
    try:
        sock.sendall(b"ping")
        return "ok" if sock.recv(4) == b"ping" else "bad echo"
    except TimeoutError:
        return "timeout"
    except OSError as error:
        return type(error).__name__

def probe(target):
    sock, outcome = connect(*target)
    if sock is None:
        return outcome
    with sock:
        return echo(sock)

def answer(conn):
    with conn:
        while data := conn.recv(64):
            conn.sendall(data)

def serve(server):
    while True:
        threading.Thread(target=answer, args=(server.accept()[0],), daemon=True).start()

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "probe":
        with ThreadPoolExecutor(len(cmd["targets"])) as pool:
            reply = list(pool.map(probe, cmd["targets"]))
    elif cmd["op"] == "open":
        sock, reply = connect(cmd["host"], cmd["port"])
        held[cmd["name"]] = sock
    elif cmd["op"] == "echo":
        reply = echo(held[cmd["name"]])
    elif cmd["op"] == "listen":
        server = socket.create_server((cmd["host"], 0))
        threading.Thread(target=serve, args=(server,), daemon=True).start()
        reply = server.getsockname()[1]
    print(json.dumps(reply), flush=True)
"""


class Agent:
    def __init__(self, netns: str | None) -> None:
        command = [sys.executable, "-u", "-c", AGENT, str(CONNECT_TIMEOUT)]
        self.where = netns or "host"
        self.proc = subprocess.Popen(
            [IP, "netns", "exec", netns, *command] if netns else command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, op: str, **args: object) -> object:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], ANSWER_DEADLINE)
        line = self.proc.stdout.readline() if ready else ""
        assert line, f"the agent in {self.where} did not answer {op} within {ANSWER_DEADLINE} s"
        return json.loads(line)

    def probe(self, *targets: tuple[str, int]) -> dict[tuple[str, int], str]:
        return dict(zip(targets, self.ask("probe", targets=targets), strict=True))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=ANSWER_DEADLINE)


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(64):
            self.request.sendall(data)


class Echo6(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6


def listen(host: str) -> socketserver.ThreadingTCPServer:
    server = (Echo6 if ":" in host else socketserver.ThreadingTCPServer)((host, 0), Echo)
    server.daemon_threads, server.block_on_close = True, False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ip(*args: str) -> None:
    subprocess.run([IP, *args], check=True, capture_output=True, text=True, timeout=30)


def nft(*args: str) -> str:
    return subprocess.run([NFT, *args], check=True, capture_output=True, text=True).stdout


def free_subnet() -> int:
    """X such that neither 10.231.X.0/24 nor 10.232.X.0/30 is in use on the host."""
    used = subprocess.run([IP, "-4", "-j", "route", "show", "table", "all"], capture_output=True)
    nets = [r["dst"] for r in json.loads(used.stdout or b"[]") if r.get("dst", "/")[0].isdigit()]
    taken = [ipaddress.ip_network(n if "/" in n else f"{n}/32", strict=False) for n in nets]
    for x in random.sample(range(2, 254), 252):
        ours = [ipaddress.ip_network(f"10.231.{x}.0/24"), ipaddress.ip_network(f"10.232.{x}.0/30")]
        if not any(a.overlaps(b) for a in ours for b in taken):
            return x
    raise AssertionError("no free 10.231.X.0/24 for the test")


@dataclass
class Lab:
    fw: LabFirewall
    lan_address: str  # the host's end of the lan veth
    container_address: str
    container: Agent
    lan: Agent
    host: Agent
    allowed: tuple[str, int]  # the gateway, at a port the firewall allows
    other: tuple[str, int]  # the gateway, at a port it does not
    anywhere: int  # a port bound to 0.0.0.0
    anywhere6: tuple[str, int]  # the bridge's link-local address, at a port bound to ::
    server: int  # a port the container listens on, as a participant's server


@pytest.fixture
def lab() -> Iterator[Lab]:
    p, x = f"iclt{secrets.token_hex(2)}", free_subnet()
    gateway, host_lan = f"10.231.{x}.1", f"10.232.{x}.1"
    agents: list[Agent] = []
    servers: list[socketserver.ThreadingTCPServer] = []
    try:
        ip("link", "add", f"{p}br", "type", "bridge")
        ip("addr", "add", f"{gateway}/24", "dev", f"{p}br")
        # Docker's bridges and containers have IPv6 link-local addresses even on an IPv4
        # network: one more path to the host. Set here without DAD, to be usable at once.
        ip("addr", "add", "fe80::1/64", "dev", f"{p}br", "nodad")
        ip("link", "set", f"{p}br", "up")
        for ns, end in ((f"{p}-c", "c"), (f"{p}-lan", "l")):
            ip("netns", "add", ns)
            ip("link", "add", f"{p}{end}0", "type", "veth", "peer", "name", f"{p}{end}1")
            ip("link", "set", f"{p}{end}1", "netns", ns)
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", f"{p}{end}1", "up")
        ip("link", "set", f"{p}c0", "master", f"{p}br", "up")
        ip("-n", f"{p}-c", "addr", "add", f"10.231.{x}.2/24", "dev", f"{p}c1")
        ip("-n", f"{p}-c", "addr", "add", "fe80::2/64", "dev", f"{p}c1", "nodad")
        ip("-n", f"{p}-c", "route", "add", "default", "via", gateway)
        ip("addr", "add", f"{host_lan}/30", "dev", f"{p}l0")
        ip("link", "set", f"{p}l0", "up")
        ip("-n", f"{p}-lan", "addr", "add", f"10.232.{x}.2/30", "dev", f"{p}l1")
        ip("-n", f"{p}-lan", "route", "add", f"10.231.{x}.0/24", "via", host_lan)

        servers += [listen(gateway), listen(gateway), listen("0.0.0.0"), listen("::")]
        allowed, other, anywhere, anywhere6 = (s.server_address[1] for s in servers)
        agents += [Agent(f"{p}-c"), Agent(f"{p}-lan"), Agent(None)]
        served = agents[0].ask("listen", host=f"10.231.{x}.2")
        assert isinstance(served, int)
        yield Lab(
            fw=LabFirewall(p, f"{p}br", gateway, (allowed,)),
            lan_address=host_lan,
            container_address=f"10.231.{x}.2",
            container=agents[0],
            lan=agents[1],
            host=agents[2],
            allowed=(gateway, allowed),
            other=(gateway, other),
            anywhere=anywhere,
            anywhere6=(f"fe80::1%{p}c1", anywhere6),
            server=served,
        )
    finally:
        for agent in agents:
            agent.stop()
        for server in servers:
            server.shutdown()
            server.server_close()
        firewall.remove(p)
        # Deleting a veth end deletes its peer at once; a namespace goes only when its last
        # socket does, and orphaned TCP sockets can keep it (and its interfaces) for minutes.
        for name in (f"{p}c0", f"{p}l0", f"{p}br"):
            subprocess.run([IP, "link", "del", name], capture_output=True)
        for ns in (f"{p}-c", f"{p}-lan"):
            subprocess.run([IP, "netns", "del", ns], capture_output=True)
        left = subprocess.run([IP, "-br", "link"], capture_output=True, text=True).stdout
        assert p not in left, f"interfaces left behind: {left}"
        assert p not in subprocess.run([IP, "netns"], capture_output=True, text=True).stdout
        # Only this test's own table is checked: other labs on this machine come and go.
        assert p not in nft("list", "tables")


def everything(lab: Lab) -> dict[str, dict[tuple[str, int], str]]:
    gateway = lab.allowed[0]
    return {
        "container": lab.container.probe(
            lab.allowed,
            lab.other,
            (gateway, lab.anywhere),
            (lab.lan_address, lab.anywhere),
            lab.anywhere6,
        ),
        "lan": lab.lan.probe(lab.allowed, lab.other, (lab.lan_address, lab.anywhere)),
        "host": lab.host.probe(lab.allowed, (lab.container_address, lab.server)),
    }


def test_the_container_reaches_only_the_lab_ports_and_the_lan_none_of_them(lab: Lab):
    before = everything(lab)
    # Without the table every path is open: this test can fail on a machine without it.
    assert {k: set(v.values()) for k, v in before.items()} == {
        "container": {"ok"},
        "lan": {"ok"},
        "host": {"ok"},
    }, before
    # Long-lived connections opened before install: the hub's to a server, a container's.
    assert lab.host.ask("open", name="hub", host=lab.container_address, port=lab.server) == "ok"
    assert lab.container.ask("open", name="lab", host=lab.allowed[0], port=lab.allowed[1]) == "ok"
    assert lab.container.ask("open", name="sneaky", host=lab.other[0], port=lab.other[1]) == "ok"

    firewall.install(lab.fw)

    gateway = lab.allowed[0]
    assert everything(lab) == {
        "container": {
            lab.allowed: "ok",
            lab.other: "timeout",
            (gateway, lab.anywhere): "timeout",
            (lab.lan_address, lab.anywhere): "timeout",
            lab.anywhere6: "timeout",
        },
        "lan": {
            lab.allowed: "timeout",
            lab.other: "timeout",
            (lab.lan_address, lab.anywhere): "ok",  # the host's other addresses: not ours
        },
        "host": {lab.allowed: "ok", (lab.container_address, lab.server): "ok"},
    }
    assert lab.host.ask("echo", name="hub") == "ok"
    assert lab.container.ask("echo", name="lab") == "ok"
    # conntrack knows it as established, but from the container: only the lab's ports.
    assert lab.container.ask("echo", name="sneaky") == "timeout"


def test_check_sees_a_deleted_rule_and_a_deleted_table(lab: Lab):
    table = lab.fw.table
    assert firewall.check(lab.fw) == [f"table inet {table} is missing: {NOT_INSTALLED}"]
    firewall.install(lab.fw)
    firewall.install(lab.fw)  # replaces, does not add to, what is there
    assert firewall.check(lab.fw) == []
    listed = nft("-a", "list", "chain", "inet", table, "input")
    [handle] = [line.split("# handle ")[1] for line in listed.splitlines() if "dport" in line]
    nft("delete", "rule", "inet", table, "input", "handle", handle)
    [problem] = firewall.check(lab.fw)
    assert problem.startswith("rule missing:") and f"tcp dport == {lab.allowed[1]}" in problem
    nft("delete", "table", "inet", table)
    assert firewall.check(lab.fw) == [f"table inet {table} is missing: {NOT_INSTALLED}"]


def test_remove_deletes_only_the_labs_table(lab: Lab):
    docker_tables = [t for t in nft("list", "tables").splitlines() if t.startswith("table ip ")]
    firewall.install(lab.fw)
    assert f"table inet {lab.fw.table}" in nft("list", "tables")
    assert lab.fw.bridge in (firewall.installed(lab.fw.prefix) or "")
    assert firewall.remove(lab.fw.prefix) is True
    assert firewall.installed(lab.fw.prefix) is None
    assert firewall.remove(lab.fw.prefix) is False
    assert [t for t in nft("list", "tables").splitlines() if t.startswith("table ip ")] == (
        docker_tables
    )
