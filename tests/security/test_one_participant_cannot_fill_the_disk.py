"""One participant must not fill the lab's disk: what their server prints is capped,
and what it stores (work folder + the container's own files) is measured by the
hub's disk guard, which warns them near `limits.disk` and stops their server above
it, while everyone else works on."""

import os
from pathlib import Path

import pytest

from icslab.hub.disk_guard import NOTE
from icslab.hub.docker_env import engine_answers
from icslab.testing import docker_lab
from icslab.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]
MB = 1024 * 1024
WORK = "/home/jovyan/work"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, prefix):
    limits = {"memory": "600M", "disk": "64M", "disk_check_seconds": 5}
    with docker_lab(tmp_path_factory.mktemp("disk-lab"), prefix, limits=limits) as running:
        yield running


def container(engine, prefix, user):
    found = engine.containers.list(all=True, filters={"name": f"{prefix}-{user}"})
    return next((c for c in found if c.name == f"{prefix}-{user}"), None)


def write(client, path: str, megabytes: int) -> None:
    client.run_code(f"open({path!r}, 'wb').write(b'x' * {megabytes * MB})", timeout=120)


def test_what_a_server_prints_is_capped(lab, engine, prefix):
    p02 = lab.login("p02")
    p02.start_server()
    # The kernel's own stdout is the container's: 60 MB printed past the notebook.
    p02.run_code(f"import os\nfor _ in range(60): os.write(1, b'y' * {MB - 1} + b'\\n')")
    logs = Path(container(engine, prefix, "p02").attrs["LogPath"])
    kept = sum(f.stat().st_size for f in logs.parent.glob(logs.name + "*"))
    assert kept <= 31 * MB, kept  # 3 files of 10 MB at most
    assert p02.run_code("6*7") == "42"


def test_a_server_that_fills_its_share_is_warned_then_stopped(lab, engine, prefix):
    p01, p03 = lab.login("p01"), lab.login("p03")
    p01.start_server()
    p03.start_server()
    note = f"print(open('{WORK}/{NOTE}').read())"

    write(p01, f"{WORK}/big.bin", 60)  # over 90 % of 64M: a note, the server runs on
    wait_for(lambda: NOTE in p01.run_code(f"import os; print(os.listdir('{WORK}'))"),
             timeout=60, what="the disk note")  # fmt: skip
    assert "Your files use" in p01.run_code(note)
    assert p01.server_status().get("ready")

    write(p01, "/tmp/more.bin", 10)  # the container's own files count too: over the limit
    wait_for(lambda: not p01.server_status(), timeout=60, what="p01's server to be stopped")
    assert "stopping p01's server" in lab.logs()
    assert container(engine, prefix, "p01") is None
    assert p03.run_code("6*7") == "42"  # everyone else works on

    # p01 starts again, is told why, and clears up: the server stays.
    p01.start_server()
    wait_for(lambda: "was stopped" in p01.run_code(note), timeout=60, what="the stop note")
    p01.run_code(f"import os; os.remove('{WORK}/big.bin')")
    record = lab.resolved().paths.disk / "p01.json"
    wait_for(lambda: not record.exists(), timeout=60, what="the stop record to clear")
    assert p01.server_status().get("ready")


def test_up_refuses_a_disk_that_cannot_hold_every_share(tmp_path, prefix):
    lab = docker_lab(tmp_path, prefix, limits={"disk": "100T"})
    with pytest.raises(RuntimeError, match=r"3 participants x limits.disk 100T"):
        lab.start(timeout=30)
    assert not (lab.data_dir / "credentials.csv").exists()
