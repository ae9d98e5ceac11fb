"""The disk that holds the data dir fills up: the hub keeps letting people in and
their servers keep running, what would write a new file (a hand-in, a
publication, a password) is refused with a message, and nothing already stored
is lost. The data dir is a small tmpfs of its own."""

import html
import os
import subprocess
from pathlib import Path

import pytest

from icslab.handin.store import Store, kind_for, verify
from icslab.paths import DATASETS_BUILD
from icslab.space import RESERVE
from icslab.testing import RunningLab

pytestmark = [
    pytest.mark.integration,
    # CI runs as root: there it must run.
    pytest.mark.skipif(
        os.geteuid() != 0 and not os.environ.get("CI"), reason="mounting a small disk needs root"
    ),
]
MB = 1024 * 1024
FULL = "the lab's disk is full"


def hand_in(client, flag: int) -> str:
    return client.run_code(
        "from icslab.capstone import submit\n"
        "from icslab.data import load_plant\n"
        f"labels = load_plant('sample').labels.astype(int) * {flag}\n"
        "try:\n"
        "    print(submit(labels, dataset='sample').receipt)\n"
        "except Exception as error:\n"
        "    print(error)"
    )


@pytest.fixture
def small_disk(tmp_path):
    data = tmp_path / "lab" / "data"
    data.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m,mode=0700", "tmpfs", str(data)],
                   check=True)  # fmt: skip
    yield data
    subprocess.run(["umount", str(data)], check=True)


def fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler.bin"
    with filler.open("wb") as out:
        while os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize > leave:
            out.write(b"\0" * MB)
            out.flush()
    return filler


def test_a_full_disk_refuses_new_files_keeps_logins_and_loses_nothing(small_disk):
    lab = RunningLab(small_disk.parent, data={"datasets": str(DATASETS_BUILD)})
    with lab:
        credentials = lab.credentials()
        p01 = lab.login("p01")
        p01.start_server()
        assert "handed in to the lab" in hand_in(p01, 1)
        store = Store(lab.resolved().paths.submissions)
        kept = store.latest("water", kind_for("sample"))

        filler = fill(small_disk, leave=RESERVE // 2)

        refused = hand_in(p01, 0)
        assert FULL in refused and "nothing was stored" in refused
        assert verify(kept.folder).manifest == kept.manifest  # the earlier hand-in, intact
        assert len(store.versions("water", kind_for("sample"))) == 1
        reset = lab.icslab("passwords", "reset", "p03")
        assert reset.returncode == 2 and FULL in " ".join(
            reset.stdout.split() + reset.stderr.split()
        )
        published = lab.icslab("publish", "ics-week")
        assert published.returncode == 2 and FULL in " ".join(published.stderr.split())
        p02 = lab.login("p02")
        form = {"current_password": credentials["p02"], "password": "a-new-password-42",
                "_xsrf": p02.cookie("_xsrf", "/hub/")}  # fmt: skip
        page = p02.http.post("hub/auth/change-password", data=form)
        assert page.status_code == 400 and FULL in html.unescape(page.text)
        # Logins (old passwords) and servers carry on.
        for name in ("p02", "p03"):
            late = lab.login(name, credentials[name])
            late.start_server()
            assert late.run_code("6*7") == "42"
        assert p01.run_code("6*7") == "42"

        filler.unlink()  # an instructor frees space: hand-ins work again
        assert "handed in to the lab" in hand_in(p01, 0)
        assert len(store.versions("water", kind_for("sample"))) == 2
