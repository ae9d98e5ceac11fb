"""After a crash: find and stop what a dead hub of this lab left running.

A hub killed outright (the OOM killer, `kill -9`) cleans nothing: the proxy and
the hub-managed services run in sessions of their own, and local participants'
servers outlive the zygote. They hold the ports the next start reuses (running
containers know them). `icslab up` calls `clean_up` once it holds the data dir's
lock: no hub of this lab is alive, so whatever still runs for it is a leftover.

A process counts as this lab's only if the hub started it and it names the lab
(a service with the data dir, lab file or Caddyfile in its arguments; the lab
file in its environment), or is one of the hub's own programs in the lab's
folder, or was started by one of those. Never another user's, a container's
(another pid namespace) or the caller's own tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from icslab.errors import InputError
from icslab.hub.front import dns
from icslab.lab import LAB_FILE_ENV, Lab, LabPaths

ZYGOTE = "icslab.hub.zygote"  # the zygote and its forks (local servers) share its cmdline
STOP_SECONDS = 10.0  # SIGTERM's grace (a local server stops its kernels), then SIGKILL
REAP_SECONDS = 5.0


@dataclass(frozen=True)
class Leftover:
    name: str
    process: psutil.Process
    started: tuple[psutil.Process, ...]  # what it started (kernels, caddy's helpers)

    def __str__(self) -> str:
        more = f", and {len(self.started)} it started" if self.started else ""
        return f"{self.name} (pid {self.process.pid}{more})"


def clean_up(paths: LabPaths) -> list[str]:
    """Stop a dead run's processes; what was stopped, for the banner. Call it only
    while holding the data dir's lock."""
    found = find(paths)
    stop(found)
    # JupyterHub signals the pid in this file at start, whatever process has it now.
    paths.proxy_pid.unlink(missing_ok=True)
    return [str(leftover) for leftover in found]


def find(paths: LabPaths) -> list[Leftover]:
    marks = _Marks.of(LabPaths(paths.data_dir.resolve()))
    own_tree, own_namespace = _own_tree(), _pid_namespace("self")
    found: dict[int, tuple[str, psutil.Process]] = {}
    for process in psutil.process_iter(["uids", "cmdline", "cwd", "environ"]):
        if process.pid in own_tree or _pid_namespace(str(process.pid)) != own_namespace:
            continue  # a container's process, whatever its command line says
        name = marks.name_if_ours(process.info)
        if name:
            found[process.pid] = (name, process)
    # Each process another started goes with the nearest one found (a kernel with its
    # server): the deepest claim theirs first.
    claimed, started = set(found), {}
    for pid, (_, process) in sorted(found.items(), key=lambda item: -_depth(item[1][1])):
        with contextlib.suppress(psutil.Error):
            started[pid] = [p for p in process.children(recursive=True) if p.pid not in claimed]
            claimed.update(p.pid for p in started[pid])
    return [Leftover(name, p, tuple(started.get(p.pid, ()))) for name, p in found.values()]


@dataclass(frozen=True)
class _Marks:
    """What tells this lab's processes from anything else's."""

    paths: LabPaths
    arguments: frozenset[str]
    dns_command: list[str] | None

    @classmethod
    def of(cls, paths: LabPaths) -> _Marks:
        data = paths.data_dir
        arguments = {f"--data-dir={data}", f"--lab-file={paths.lab_file}", f"--root={paths.git}"}
        return cls(paths, frozenset({*arguments, str(paths.caddyfile)}), _dns_command(paths))

    def name_if_ours(self, info: dict) -> str | None:
        cmdline, env = info["cmdline"] or [], info["environ"] or {}
        cwd = Path(info["cwd"]) if info["cwd"] else None
        service = env.get("JUPYTERHUB_SERVICE_NAME")
        # The hub runs in the data dir (exec_hub): what it starts inherits that folder.
        hub_started = cwd == self.paths.data_dir
        mine = bool(info["uids"]) and info["uids"].real == os.getuid()
        if mine and (
            # A service (or caddy, under the front); not an instructor's `icslab --data-dir`.
            (service and any(arg in self.arguments for arg in cmdline))
            or env.get(LAB_FILE_ENV) == str(self.paths.lab_file)  # the proxy, hand-ins
            or (hub_started and (service or ZYGOTE in cmdline))  # the culler, the zygote
            # A participant's, in local mode.
            or (cwd is not None and _is_server(cmdline) and cwd.parent == self.paths.users)
        ):
            return _name(cmdline, cwd, service, hub_started)
        # dnsmasq names nothing of the lab, runs in / and as nobody: its command line tells.
        if self.dns_command and cmdline == self.dns_command and service == dns.DNS_SERVICE:
            return "dnsmasq"
        return None


def stop(leftovers: list[Leftover], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM everything, SIGKILL what is still there after `timeout`."""
    everything = [p for leftover in leftovers for p in (leftover.process, *leftover.started)]
    for how, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for process in _alive(everything):
            with contextlib.suppress(psutil.Error):  # psutil refuses a reused pid
                process.send_signal(how)
        _wait_until(lambda: not _alive(everything), wait)
    if survivors := _alive(everything):
        pids = " ".join(str(p.pid) for p in survivors)
        raise InputError(
            f"processes a crashed run of this lab left would not stop (pids {pids}): "
            f"stop them (`kill -9 {pids}`), then start again"
        )
    # The hub checks a local server it finds in its database by signalling its pid,
    # which a zombie answers, and then waits minutes for it to answer HTTP: give init
    # (their parent now) time to reap them (up to 2 s on the test machine).
    _wait_until(lambda: not any(p.is_running() for p in everything), REAP_SECONDS)


def _wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Still running; a zombie waits for its new parent (init) to reap it, but is gone."""
    alive = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
    return alive


def _name(cmdline: list[str], cwd: Path | None, service: str | None, hub_started: bool) -> str:
    program = Path(cmdline[0]).name if cmdline else "?"
    if any("configurable-http-proxy" in arg for arg in cmdline[:2]):
        return "configurable-http-proxy"
    if _is_server(cmdline) and cwd is not None:
        return "the server zygote" if hub_started else f"{cwd.name}'s server"
    if any(Path(arg).name == "jupyterhub" for arg in cmdline[:2]):
        return "jupyterhub"
    return program if program == "caddy" else service or program


def _is_server(cmdline: list[str]) -> bool:
    """A local participant's server: forked from the zygote, or started on its own."""
    return ZYGOTE in cmdline or any(arg.endswith("jupyterhub-singleuser") for arg in cmdline)


def _dns_command(paths: LabPaths) -> list[str] | None:
    """The dnsmasq command the last start of this lab ran, if it served DNS."""
    try:
        lab = Lab.load(paths.lab_file)
    except (OSError, ValueError, InputError):
        return None
    return dns.dnsmasq_command(lab) if lab.settings.dns.serve else None


def _depth(process: psutil.Process) -> int:
    try:
        return len(process.parents())
    except psutil.Error:
        return 0


def _own_tree() -> set[int]:
    me = psutil.Process()
    return {me.pid, *(p.pid for p in me.parents()), *(p.pid for p in me.children(True))}


def _pid_namespace(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None
