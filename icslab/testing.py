"""A real lab in a folder, for tests and benchmarks:

    with RunningLab(tmp_path, roster=ROWS) as lab:
        p01 = lab.login("p01")
        assert p01.run_code("6*7") == "42"

It runs `icslab up` exactly as an instructor does, on a free loopback port,
and on exit stops it with SIGTERM and checks that nothing it started survives.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from icslab.client import LabClient, wait_for
from icslab.hub.accounts import read_credentials
from icslab.hub.launch import free_port
from icslab.lab import Lab

ICSLAB = str(Path(sys.executable).with_name("icslab"))

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
    """A workshop.toml with a title, the roster, and any `section={key: value}` overrides."""
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
        lines += [f"{key} = {value!r}" for key, value in values.items()]
    path.write_text("\n".join(lines).replace("'", '"') + "\n", encoding="utf-8")
    return path


class RunningLab:
    def __init__(self, folder: Path, roster=EXAMPLE_ROSTER, **sections: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.folder / "data"
        self.config = self.folder / "workshop.toml"
        self.roster = self.folder / "roster.csv"
        self.log = self.folder / "hub.log"
        self.sections = sections
        write_roster(self.roster, roster)
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def set_roster(self, rows) -> None:
        write_roster(self.roster, rows)

    def start(self, timeout: float = 60) -> RunningLab:
        write_settings(self.config, **self.sections)
        self.port = free_port()
        command = [ICSLAB, "up", "--config", str(self.config), "--data-dir", str(self.data_dir)]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self._healthy, timeout=timeout, what=f"the hub on {self.url} (log: {self.log})")
        return self

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"icslab up exited with {self.process.returncode}:\n{self.logs()}")
        try:
            return httpx.get(self.url + "hub/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def processes(self) -> list[psutil.Process]:
        """The hub and everything it started (proxy, culler, participants' servers)."""
        hub = psutil.Process(self.process.pid)
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

    def client(self) -> LabClient:
        return LabClient(self.url)

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
