"""A real lab in a folder, for tests and benchmarks:

    with RunningLab(tmp_path, roster=ROWS) as lab:
        p01 = lab.login("p01")
        assert p01.run_code("6*7") == "42"

It runs `icslab up` exactly as an instructor does, on a free loopback port,
and on exit stops it with SIGTERM and checks that nothing it started survives.
With `tls={"mode": "lab-ca"}` (or acme, files) it serves `https://lab.test:<port>`
on all interfaces, and its clients reach `lab.test` and `*.lab.test` on
127.0.0.2, trusting only the lab's CA (or `ca`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

from icslab.hub.accounts import read_credentials
from icslab.hub.front.certs import CA_CERT
from icslab.hub.launch import free_port
from icslab.images import IMAGE
from icslab.lab import Lab, LabPaths
from icslab.testing.client import LabClient
from icslab.waiting import wait_for

ICSLAB = str(Path(sys.executable).with_name("icslab"))
# The image Docker tests run: `ICSLAB_TEST_IMAGE` names another build (a branch's own,
# `icslab images build --tag ...`) without retagging the one other work tests against.
PARTICIPANT_IMAGE = os.environ.get("ICSLAB_TEST_IMAGE", IMAGE)

TEST_HOST = "lab.test"
TEST_ADDRESS = "127.0.0.2"  # stands in for the lab server's address on the room's network

EXAMPLE_ROSTER = [
    ("trainer1", "", "instructor"),
    ("trainer2", "", "instructor"),
    ("p01", "water", "participant"),
    ("p02", "water", "participant"),
    ("p03", "power", "participant"),
]


def write_roster(path: Path, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "team", "role"])
        writer.writerows(rows)
    return path


def write_settings(path: Path, roster: str = "roster.csv", **sections: dict) -> Path:
    """A lab.toml with a title, the roster, and any `section={key: value}` overrides."""
    tables = {
        "workshop": {"title": "Test lab"},
        "hub": {"roster": roster, "spawner": "local"},
        "data": {"datasets": "datasets"},
    }
    for name, values in sections.items():
        tables.setdefault(name, {}).update(values)
    lines = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        # JSON strings, numbers, booleans and lists are TOML values (repr's False is not).
        lines += [f"{key} = {json.dumps(value, default=str)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class RunningLab:
    def __init__(
        self,
        folder: Path,
        roster=EXAMPLE_ROSTER,
        *,
        ca: Path | None = None,
        port: int | None = None,
        **sections: dict,
    ):
        """`port`: the public port (a free one if not given); `ca`: what clients trust."""
        self.ca = ca
        self.chosen_port = port
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.folder / "data"
        self.config = self.folder / "lab.toml"
        self.roster = self.folder / "roster.csv"
        self.log = self.folder / "hub.log"
        self.sections: dict[str, Any] = sections
        write_roster(self.roster, roster)
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def tls(self) -> bool:
        return self.sections.get("tls", {}).get("mode", "off") != "off"

    @property
    def host(self) -> str:
        return TEST_HOST if self.tls else "127.0.0.1"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/"

    @property
    def http_port(self) -> int | None:
        return self.sections.get("hub", {}).get("http_port")

    def trusted_ca(self) -> Path | None:
        """What the lab's clients trust: `ca`, or the lab's own CA (lab-ca mode)."""
        if self.ca or not self.tls:
            return self.ca
        return LabPaths(self.data_dir).lab_ca / CA_CERT

    def set_roster(self, rows) -> None:
        write_roster(self.roster, rows)

    def start(self, timeout: float = 60) -> RunningLab:
        self.port = self.chosen_port or free_port()
        if self.tls:
            hub = self.sections.setdefault("hub", {})
            hub.setdefault("public_url", f"https://{TEST_HOST}")
            hub.setdefault("http_port", free_port())
            # Local-mode labs on lab.test run as root here: a choice the tests make.
            hub.setdefault("local_mode_as_root", hub.get("spawner", "local") == "local")
        write_settings(self.config, **self.sections)
        command = [ICSLAB, "up", "--config", str(self.config), "--data-dir", str(self.data_dir)]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self._healthy, timeout=timeout, what=f"the hub on {self.url} (log: {self.log})")
        return self

    def _started(self) -> subprocess.Popen:
        if self.process is None:
            raise RuntimeError("the lab is not started: use `with RunningLab(...)` or start()")
        return self.process

    def _healthy(self) -> bool:
        process = self._started()
        if process.poll() is not None:
            raise RuntimeError(f"icslab up exited with {process.returncode}:\n{self.logs()}")
        ca = self.trusted_ca()
        if ca is not None and not ca.exists():
            return False  # icslab up has not made the lab CA yet
        try:
            with LabClient(self.url, timeout=2, **self._client_options(ca)) as probe:
                return probe.http.get("hub/health").status_code == 200
        except httpx.TransportError:
            return False

    def processes(self) -> list[psutil.Process]:
        """The hub and everything it started (proxy, culler, participants' servers)."""
        hub = psutil.Process(self._started().pid)
        return [hub, *hub.children(recursive=True)]

    def stop(self, timeout: float = 60, how: signal.Signals = signal.SIGTERM) -> None:
        """Signal the hub as an init system (SIGTERM) or Ctrl-C (SIGINT) would;
        fail if anything it started lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        started = self.processes()
        self.process.send_signal(how)
        self.process.wait(timeout=timeout)
        _, alive = psutil.wait_procs(started, timeout=10)
        for survivor in alive:
            survivor.kill()
        self.process = None
        if alive:
            raise AssertionError(f"still running after the hub stopped: {alive}")

    def resolved(self) -> Lab:
        """What `icslab up` resolved (ports, docker network and gateway, ...)."""
        return Lab.load(self.data_dir / "lab.json")

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def credentials(self) -> dict[str, str]:
        return read_credentials(self.data_dir / "credentials.csv")

    def _client_options(self, ca: Path | None) -> dict:
        if not self.tls:
            return {}
        return {"ca": ca, "resolve": {TEST_HOST: TEST_ADDRESS}}

    def client(self) -> LabClient:
        lab = self.resolved()
        domain = urlsplit(lab.public_url).hostname if lab.user_origins else None
        return LabClient(self.url, **self._client_options(self.trusted_ca()), user_domain=domain)

    def login(self, username: str, password: str | None = None) -> LabClient:
        client = self.client()
        client.login(username, password or self.credentials()[username])
        return client

    def icslab(self, *args: str) -> subprocess.CompletedProcess:
        """Run another `icslab` command against this lab, as an instructor would."""
        env = {**os.environ, "ICSLAB_DATA_DIR": str(self.data_dir)}
        return subprocess.run([ICSLAB, *args], capture_output=True, text=True, env=env)

    def __enter__(self) -> RunningLab:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def unique_prefix() -> str:
    """A docker.prefix of its own for one test module's lab (containers, volumes,
    network, firewall table), so that cleaning up removes only what it made."""
    return f"icslabt{secrets.token_hex(3)}"


def docker_lab(folder: Path, prefix: str, **sections: Any) -> RunningLab:
    """A docker-mode lab with the participant image and its own prefix."""
    hub = {"spawner": "docker", **sections.pop("hub", {})}
    docker = {"prefix": prefix, "image": PARTICIPANT_IMAGE, **sections.pop("docker", {})}
    return RunningLab(folder, roster=EXAMPLE_ROSTER, hub=hub, docker=docker, **sections)


NO_IPV6 = "/proc/sys/net/ipv6/conf/all/disable_ipv6"  # of the namespace it runs in


@contextlib.contextmanager
def lan_host(routes: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """A machine on the room's network: a network namespace wired to this host by a
    veth pair (root only). Yields (namespace, this host's address as it sees it);
    `routes` (e.g. the lab network's subnet) go through this host. Removes only
    what it made."""
    name = f"iclt{secrets.token_hex(2)}"
    third = 200 + secrets.randbelow(50)
    ours, theirs = f"10.{third}.77.1", f"10.{third}.77.2"
    steps = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}l"],
        ["ip", "link", "set", f"{name}l", "netns", name],
        # IPv4 only: an IPv6 address finishing its duplicate check a second after the
        # link comes up is a "network change" that makes chromium abort its requests.
        ["ip", "netns", "exec", name, "sh", "-c", f"echo 1 > {NO_IPV6}"],
        ["ip", "addr", "add", f"{ours}/30", "dev", f"{name}h"],
        ["ip", "link", "set", f"{name}h", "up"],
        ["ip", "-n", name, "addr", "add", f"{theirs}/30", "dev", f"{name}l"],
        ["ip", "-n", name, "link", "set", f"{name}l", "up"],
        ["ip", "-n", name, "link", "set", "lo", "up"],
        *(["ip", "-n", name, "route", "add", route, "via", ours] for route in routes),
    ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield name, ours
    finally:
        # Deleting the host's end removes both ends at once, even while sockets linger.
        subprocess.run(["ip", "link", "del", f"{name}h"], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
