"""Faults a week brings, against a real docker-mode lab: the proxy dies, the Docker
engine restarts. Participants get back to work without anyone restarting the hub.

Each test prints how long participants wait (pytest -s shows it).
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from icslab.hub import firewall
from icslab.hub.docker_env import engine_answers
from icslab.hub.service_unit import systemd_runs
from icslab.testing import docker_lab
from icslab.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    # Skipped where no engine runs; CI starts one, and there they must run.
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]
NOTES = "/home/jovyan/work/notes.txt"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, prefix):
    with docker_lab(tmp_path_factory.mktemp("faults-lab"), prefix) as running:
        yield running


@pytest.fixture
def p01(lab):
    with lab.login("p01") as client:
        client.start_server()
        client.open_server()  # the server's own login (OAuth), as a browser gets it
        yield client


def answers(client, owner: str = "p01") -> bool:
    """The server's own API answers through the proxy (not the hub's error page)."""
    try:
        return client.server_api(owner, "GET", "status").status_code == 200
    except Exception:  # connection refused while no proxy listens, timeouts
        return False


def test_the_hub_restarts_a_killed_proxy_with_its_routes(lab, p01):
    hub = lab.process.pid
    pid_file = lab.data_dir / "proxy.pid"
    killed = int(pid_file.read_text())
    assert answers(p01)

    os.kill(killed, signal.SIGKILL)
    start = time.monotonic()

    def new_proxy() -> bool:
        return pid_file.exists() and pid_file.read_text().strip() not in ("", str(killed))

    wait_for(new_proxy, timeout=30, what="a new proxy")
    restarted = time.monotonic() - start
    wait_for(lambda: answers(p01), timeout=30, what="p01's server through the new proxy")
    back = time.monotonic() - start
    print(
        f"\nproxy SIGKILLed: new proxy after {restarted:.1f}s, p01's server back after {back:.1f}s"
    )

    # Same hub (JupyterHub checks its proxy every check_running_interval, 5 s, and
    # restores every route), and the participant's kernel works through it.
    assert lab.process.poll() is None and lab.process.pid == hub
    assert p01.run_code("6*7") == "42"
    assert lab.client().http.get("hub/health").status_code == 200


def own_dockerd() -> psutil.Process:
    """This machine's engine (not a dockerd in a container, which another PID
    namespace would show)."""

    def pid_namespace(pid: int | str) -> str | None:
        try:
            return os.readlink(f"/proc/{pid}/ns/pid")
        except OSError:  # gone meanwhile
            return None

    ours = pid_namespace("self")
    found = [
        process
        for process in psutil.process_iter(["name"])
        if process.info["name"] == "dockerd" and pid_namespace(process.pid) == ours
    ]
    assert len(found) == 1, f"expected one dockerd, found {found}"
    return found[0]


def restart_engine() -> None:
    """As an operator would: `systemctl restart docker` where systemd runs it; else stop
    dockerd (SIGTERM: it stops every container, live-restore is off) and start it again
    with the same command, environment, directory and log."""
    if systemd_runs():
        subprocess.run(["systemctl", "restart", "docker"], check=True)
        return
    dockerd = own_dockerd()
    argv, env, cwd = dockerd.cmdline(), dockerd.environ(), dockerd.cwd()
    log = Path(os.readlink(f"/proc/{dockerd.pid}/fd/2"))
    log = log if log.is_file() else Path(os.devnull)
    dockerd.terminate()
    dockerd.wait(timeout=120)
    with log.open("ab") as out:  # setsid -f: the machine's engine, nobody's child
        subprocess.run(["setsid", "-f", *argv], stdin=subprocess.DEVNULL, stdout=out,
                       stderr=out, env=env, cwd=cwd, check=True)  # fmt: skip
    wait_for(engine_answers, timeout=120, what="the Docker engine after its restart")


def test_after_an_engine_restart_the_participant_starts_again_and_finds_their_work(
    lab, p01, engine, prefix
):
    if engine.info().get("LiveRestoreEnabled"):
        pytest.skip("live-restore: containers outlive the engine's restart")
    p01.run_code(f"open({NOTES!r}, 'w').write('tank 2 mass balance')")
    table = firewall.installed(prefix)

    start = time.monotonic()
    restart_engine()
    engine_back = time.monotonic() - start

    # The hub polls its servers (Spawner.poll_interval, 30 s) and sees this one gone.
    wait_for(lambda: not p01.server_status(), timeout=120, what="the hub to mark p01 stopped")
    marked = time.monotonic() - start
    # Docker rewrote its own iptables rules; the lab's table beside them is untouched.
    assert firewall.installed(prefix) == table
    p01.start_server()
    assert p01.run_code(f"print(open({NOTES!r}).read())") == "tank 2 mass balance\n"
    working = time.monotonic() - start
    print(
        f"\nengine restarted: answering after {engine_back:.1f}s, p01's server marked "
        f"stopped after {marked:.1f}s, p01 working again after {working:.1f}s"
    )
    assert lab.process.poll() is None
