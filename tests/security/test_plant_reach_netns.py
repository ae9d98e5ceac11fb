"""Swarm mode's plants table against real kernel traffic, without Docker: a "plants"
network namespace listening on every address (as the plants' container does), and two
participants' namespaces, each on a link of its own to it (as each participant's own
overlay is). The table the lab installs in the plants' namespace admits a participant
only to their own team's plant's ports, and the plants route for nobody.

Needs root, nft, ip and nsenter. Every namespace is named after a random per-test
prefix and only those are removed afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from icslab.errors import InputError
from icslab.hub import plant_reach

IP = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
WATER, POWER = (5020, 5021), (5030,)  # each plant's ports in the plants' namespace
LISTEN = (
    "import socket, sys, threading\n"
    "servers = [socket.create_server(('0.0.0.0', int(p))) for p in sys.argv[1:]]\n"
    "print('ready', flush=True)\n"
    "def serve(s):\n"
    "    while True: s.accept()[0].close()\n"
    "for s in servers[1:]: threading.Thread(target=serve, args=(s,), daemon=True).start()\n"
    "serve(servers[0])\n"
)
PROBE = (
    "import socket, sys\n"
    "def reach(host, port):\n"
    "    try:\n"
    "        socket.create_connection((host, int(port)), timeout=1.5).close(); return 'open'\n"
    "    except OSError:\n"
    "        return 'closed'\n"
    "print(*[reach(*t.split(':')) for t in sys.argv[1:]])\n"
)


@pytest.fixture(autouse=True)
def root_and_tools() -> None:
    missing = [t for t in ("nft", "nsenter") if not shutil.which(t, path="/usr/sbin:/usr/bin")]
    missing += [] if IP else ["ip"]
    why = "needs root" if os.geteuid() != 0 else f"needs {', '.join(missing)}" if missing else ""
    if why and os.environ.get("CI"):
        pytest.fail(f"the plants table test {why}: CI must run it, not skip it")
    if why:
        pytest.skip(why)


@dataclass
class Room:
    names: dict[str, str]  # role -> namespace
    plants_pid: int
    plants_at: dict[str, str]  # participant -> the plants' address on their link
    address: dict[str, str]  # participant -> their address

    def reach(self, who: str, targets: list[tuple[str, int]]) -> list[str]:
        args = [f"{host}:{port}" for host, port in targets]
        done = subprocess.run(
            [IP, "netns", "exec", self.names[who], sys.executable, "-c", PROBE, *args],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout.split()


def ip(*args: str) -> None:
    subprocess.run([IP, *args], check=True, capture_output=True)


@pytest.fixture
def room() -> Iterator[Room]:
    tag = secrets.token_hex(2)
    names = {role: f"iclp{tag}-{role}" for role in ("plants", "p01", "p04")}
    listener = None
    try:
        for name in names.values():
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        plants_at, address = {}, {}
        for n, who in enumerate(("p01", "p04"), start=1):
            inside, outside = f"iclp{tag}{n}a", f"iclp{tag}{n}b"
            ip("link", "add", inside, "netns", names["plants"], "type", "veth",
               "peer", "name", outside, "netns", names[who])  # fmt: skip
            plants_at[who], address[who] = f"10.77.{n}.1", f"10.77.{n}.2"
            ip("-n", names["plants"], "addr", "add", f"{plants_at[who]}/24", "dev", inside)
            ip("-n", names[who], "addr", "add", f"{address[who]}/24", "dev", outside)
            ip("-n", names["plants"], "link", "set", inside, "up")
            ip("-n", names[who], "link", "set", outside, "up")
        # Were the plants to route, p01 could reach p04 through them.
        subprocess.run([IP, "netns", "exec", names["plants"], "sysctl", "-qw",
                        "net.ipv4.ip_forward=1"], check=True)  # fmt: skip
        ip("-n", names["p01"], "route", "add", "10.77.2.0/24", "via", plants_at["p01"])
        ip("-n", names["p04"], "route", "add", "10.77.1.0/24", "via", plants_at["p04"])
        listener = subprocess.Popen(
            [IP, "netns", "exec", names["p04"], sys.executable, "-c", LISTEN, "8888"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert listener.stdout and listener.stdout.readline().strip() == "ready"
        plants = subprocess.Popen(
            [IP, "netns", "exec", names["plants"], sys.executable, "-c", LISTEN,
             *map(str, WATER + POWER)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert plants.stdout and plants.stdout.readline().strip() == "ready"
        try:
            yield Room(names, plants.pid, plants_at, address)
        finally:
            plants.kill()
            plants.wait()
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        for name in names.values():
            subprocess.run([IP, "netns", "del", name], capture_output=True)


def test_each_participant_reaches_only_their_own_teams_plant_once_admitted(room: Room):
    water_at_p01 = [(room.plants_at["p01"], port) for port in WATER + POWER]
    power_at_p04 = [(room.plants_at["p04"], port) for port in WATER + POWER]
    assert room.reach("p01", water_at_p01) == ["open"] * 3  # before: nothing guards them

    plant_reach.guard_plants(room.plants_pid, {"water": WATER, "power": POWER})
    # Admitted to nothing yet: nothing answers.
    assert room.reach("p01", water_at_p01) == ["closed"] * 3
    plant_reach.admit(room.plants_pid, "water", room.address["p01"])
    plant_reach.admit(room.plants_pid, "power", room.address["p04"])
    # Their own plant's ports, not the other team's, at the plants' address on their link.
    assert room.reach("p01", water_at_p01) == ["open", "open", "closed"]
    assert room.reach("p04", power_at_p04) == ["closed", "closed", "open"]
    # The plants route for nobody: p04's server, through them, is out of reach.
    assert room.reach("p01", [(room.address["p04"], 8888)]) == ["closed"]


def test_an_address_that_is_not_one_is_refused_before_nft_reads_it(room: Room):
    plant_reach.guard_plants(room.plants_pid, {"water": WATER})
    with pytest.raises(InputError, match="not an IPv4 address"):
        plant_reach.admit(room.plants_pid, "water", "10.77.1.2 } ; flush ruleset ; {")
    assert room.reach("p01", [(room.plants_at["p01"], WATER[0])]) == ["closed"]
