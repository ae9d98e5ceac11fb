"""The hub crashes (the OOM killer, a `kill -9`): `icslab up` and JupyterHub die at
once and stop nothing. What they started keeps running and holds the lab's ports;
the next `icslab up` stops exactly those (never another lab's), says so, and
starts. In docker mode participants' containers run on throughout and the
restarted hub finds them.

Each test prints how long recovery takes (pytest -s shows it).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from icslab.hub.docker_env import engine_answers
from icslab.hub.launch import free_port
from icslab.testing import TEST_ADDRESS, RunningLab, docker_lab
from icslab.waiting import wait_for

pytestmark = pytest.mark.integration
needs_docker = pytest.mark.skipif(
    not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
)
NOTES = "/home/jovyan/work/notes.txt"
# What a hub leaves behind (a part of each one's command line), besides local servers.
LOCAL_LEFTOVERS = (
    "configurable-http-proxy",
    "icslab.hub.git_service",
    "icslab.live.service",
    "icslab.hub.handin_service",
    "jupyterhub_idle_culler",
    "icslab.hub.front",
    "caddy",
    "dnsmasq",
)
DOCKER_LEFTOVERS = (*LOCAL_LEFTOVERS[:5], "icslab.hub.disk_guard")


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Still running (a zombie waiting for init to reap it is not)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running


def command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def program(process: psutil.Process) -> list[str]:
    """The names of what it runs (`python .../bin/jupyterhub` -> python, jupyterhub)."""
    return [Path(part).name for part in command(process).split()[:2]]


def cwd(process: psutil.Process) -> str:
    try:
        return process.cwd()
    except psutil.Error:
        return ""


def crash(lab: RunningLab) -> list[psutil.Process]:
    """SIGKILL `icslab up` and its JupyterHub, as the OOM killer would: nothing gets
    cleaned up. (`icslab up` execs JupyterHub, so they are one process; any other
    jupyterhub among its children is killed too.) Returns what the hub had started
    that still runs once the zygote, which follows its hub, has gone."""
    started = lab.processes()
    hubs = [started[0], *(p for p in started[1:] if "jupyterhub" in program(p))]
    for hub in hubs:
        hub.kill()
    lab.process.wait(timeout=10)
    zygote = [
        p for p in started if "icslab.hub.zygote" in command(p) and cwd(p) == str(lab.data_dir)
    ]
    wait_for(lambda: not alive(zygote), timeout=10, what="the server zygote to follow its hub")
    return alive([p for p in started if p not in hubs])


def named(processes: list[psutil.Process], part: str) -> list[psutil.Process]:
    return [p for p in processes if part in command(p)]


def cleaned(lab: RunningLab) -> str:
    """The banner's line about the crash (rich wraps it in the log)."""
    log = " ".join(lab.logs().split())
    assert "cleaned up after a crash:" in log, lab.logs()
    return log.split("cleaned up after a crash:", 1)[1]


def test_a_crashed_local_lab_starts_again_and_leaves_another_lab_alone(tmp_path):
    # A room's lab: TLS (caddy) and the lab's own DNS, restarted on the same ports.
    first = RunningLab(
        tmp_path / "first",
        port=free_port(),
        tls={"mode": "lab-ca"},
        dns={"serve": True, "address": TEST_ADDRESS, "port": free_port()},
    )
    second = RunningLab(tmp_path / "second")
    # Its data dir's path starts with the first's: only whole paths may match.
    second.data_dir = first.folder / "data2"
    orphans: list[psutil.Process] = []
    bystander = None
    with second:
        other = second.login("p01")
        other.start_server()
        assert other.run_code("6*7") == "42"
        second_processes = second.processes()
        first.start()
        try:
            p01 = first.login("p01")
            p01.start_server()
            assert p01.run_code("6*7") == "42"

            # An instructor's command in the lab's folder, naming it: not the lab's.
            bystander = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import time; time.sleep(600)",
                    f"--data-dir={first.data_dir}",
                ],
                cwd=first.data_dir,
            )
            orphans = crash(first)
            for part in LOCAL_LEFTOVERS:
                assert named(orphans, part), f"{part} did not outlive the hub: {orphans}"
            server = [p for p in orphans if cwd(p) == str(first.data_dir / "users" / "p01")]
            assert server, "p01's server did not outlive the hub"

            began = time.monotonic()
            first.start()
            up = time.monotonic() - began
            p01 = first.login("p01")
            p01.start_server()
            assert p01.run_code("6*7") == "42"
            print(f"\nlocal lab after a crash: hub up in {up:.1f} s, "
                  f"p01's code runs at {time.monotonic() - began:.1f} s")  # fmt: skip

            assert not alive(orphans)
            report = cleaned(first)
            for process in orphans:
                if "ipykernel" not in command(process):  # kernels go with their server
                    assert f"(pid {process.pid}" in report
            assert f"p01's server (pid {server[0].pid}" in report
            assert "configurable-http-proxy (pid" in report and "dnsmasq (pid" in report
            assert bystander.poll() is None
            # The other lab: every process still there, logins and code still work.
            assert alive(second_processes) == second_processes
            assert other.run_code("6*7") == "42"
            second.login("p02")
        finally:
            first.stop()
            for process in alive(orphans):  # only if the restart failed to
                process.kill()
            if bystander:
                bystander.kill()
                bystander.wait()


@needs_docker
def test_a_crashed_docker_lab_finds_its_participants_running(tmp_path, engine, prefix):
    lab = docker_lab(tmp_path, prefix)
    orphans: list[psutil.Process] = []
    with lab:
        try:
            p01 = lab.login("p01")
            p01.start_server()
            p01.run_code(f"open('{NOTES}', 'w').write('before the crash')")
            before = engine.containers.get(f"{prefix}-p01")
            ports = lab.resolved()

            orphans = crash(lab)
            for part in DOCKER_LEFTOVERS:
                assert named(orphans, part), f"{part} did not outlive the hub: {orphans}"

            began = time.monotonic()
            lab.chosen_port = lab.port  # where the participant's browser still points
            lab.start()
            up = time.monotonic() - began
            # The same browser session, the same server: no restart.
            assert p01.run_code(f"print(open('{NOTES}').read())") == "before the crash\n"
            print(f"\ndocker lab after a crash: hub up in {up:.1f} s, "
                  f"p01's code runs at {time.monotonic() - began:.1f} s")  # fmt: skip

            after = engine.containers.get(f"{prefix}-p01")
            assert after.id == before.id
            assert after.attrs["State"]["StartedAt"] == before.attrs["State"]["StartedAt"]
            # The container's environment names these ports: they must not move.
            again = lab.resolved()
            for port in ("hub_api_port", "git_port", "live_port", "submit_port", "room_port"):
                assert getattr(again, port) == getattr(ports, port), port
            assert not alive(orphans)
            report = cleaned(lab)
            for process in orphans:
                assert f"(pid {process.pid}" in report
        finally:
            for process in alive(orphans):
                process.kill()
