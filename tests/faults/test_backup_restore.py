"""A lab's state survives its server: backups taken while participants log in and hand
in are whole, and a lab started from one (in a new data dir) lets everyone in with
their old passwords and keeps every hand-in. A damaged hub database or password
store stops `icslab up`, named, with the restore command, and nothing is overwritten.
A real lab in local mode; hand-ins go over HTTP from the participants' servers."""

import itertools
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from icslab.backup.create import backup
from icslab.backup.restore import restore
from icslab.handin.store import ENTRY, MANIFEST, Store, kind_for, verify
from icslab.hub.accounts import read_credentials
from icslab.hub.state_check import check_state
from icslab.lab import LabPaths
from icslab.paths import DATASETS_BUILD
from icslab.testing import RunningLab
from icslab.testing.client import LoginFailed

pytestmark = pytest.mark.integration

BUILT = {"datasets": str(DATASETS_BUILD)}  # the sample dataset, as `make datasets` built it
NOTEBOOK = (
    "import nbformat; nbformat.write(nbformat.v4.new_notebook(cells=["
    "nbformat.v4.new_markdown_cell('our detector')]), 'team/detector.ipynb')"
)
ROUNDS = 3


def homework(client, message: str) -> None:
    code, output = client.run_command(["icslab", "homework", "submit", "--message", message])
    assert code == 0 and output.startswith("submitted:"), output


def predictions(client, flag: int) -> None:
    output = client.run_code(
        "from icslab.capstone import submit\n"
        "from icslab.data import load_plant\n"
        f"labels = load_plant('sample').labels.astype(int) * {flag}\n"
        "print(submit(labels, dataset='sample').receipt)"
    )
    assert "handed in to the lab" in output, output


def entries(data_dir: Path) -> dict[str, dict]:
    """The hand-in store's entries (relative path: manifest), each checked."""
    root = LabPaths(data_dir).submissions
    return {
        str(found.parent.relative_to(root)): verify(found.parent).manifest
        for found in root.glob(f"**/{MANIFEST}")
        if ENTRY.match(found.parent.name)
    }


@dataclass
class Taken:
    backups: list[Path] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    during_work: int = 0  # how many were taken while the participants worked


@pytest.fixture(scope="module")
def taken(tmp_path_factory):
    """Backups of a lab taken one after another while, in another thread, participants
    log in (one with a wrong password) and hand in homework and predictions."""
    out = tmp_path_factory.mktemp("backups")
    found = Taken()
    with RunningLab(tmp_path_factory.mktemp("old"), data=BUILT) as old:
        p01, p03 = old.login("p01"), old.login("p03")
        p01.start_server()
        p03.start_server()
        p01.run_code(NOTEBOOK)
        homework(p01, "first")
        failures = []

        def work():
            try:
                for round in range(ROUNDS):
                    homework(p01, f"round {round}")
                    predictions(p03, round % 2)
                    old.login("p02").close()
                    with pytest.raises(LoginFailed):
                        old.login("trainer2", "not-the-password")
            except BaseException as error:  # reported by the test, not lost in the thread
                failures.append(error)

        worker = threading.Thread(target=work)
        worker.start()
        while worker.is_alive():
            began = time.monotonic()
            folder, _ = backup(old.data_dir, out / str(len(found.backups)))
            found.seconds.append(time.monotonic() - began)
            found.backups.append(folder)
            found.during_work += worker.is_alive()
            time.sleep(0.2)
        worker.join()
        assert not failures, failures
        found.backups.append(backup(old.data_dir, out / "after")[0])  # every hand-in
    return found


def test_every_backup_taken_while_participants_work_restores_whole(taken, tmp_path):
    assert taken.during_work >= 3, "the participants' work was over before the backups"
    handed_in = []
    for number, folder in enumerate(taken.backups):
        # restore() compares every file with the manifest and checks the database
        # and the password store before it puts anything in place.
        restore(folder, tmp_path / str(number))
        handed_in.append(entries(tmp_path / str(number)))
    # Entries only ever grow, each one whole; the last backup has every hand-in.
    for before, after in itertools.pairwise(handed_in):
        assert before.items() <= after.items()
    last = handed_in[-1]
    assert sum(name.startswith("water/homework/") for name in last) == 1 + ROUNDS
    assert sum(name.startswith("power/capstone/sample/") for name in last) == ROUNDS
    print(
        f"\n{len(taken.backups)} backups ({taken.during_work} during the work): "
        f"median {sorted(taken.seconds)[len(taken.seconds) // 2]:.2f} s, max "
        f"{max(taken.seconds):.2f} s; the last: {size_of(taken.backups[-1]) / 1e6:.1f} MB"
    )


def size_of(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*"))


def test_a_lab_started_from_a_backup_has_the_same_accounts_passwords_and_hand_ins(taken, tmp_path):
    chosen = taken.backups[taken.during_work // 2]  # taken in the middle of the work
    new = RunningLab(tmp_path / "new", data=BUILT)
    restore(chosen, new.data_dir)
    kept = entries(new.data_dir)
    sheet = read_credentials(chosen / "credentials.csv")  # what the instructor handed out
    with new:
        for name, password in sheet.items():
            new.login(name, password).close()
        with pytest.raises(LoginFailed):
            new.login("p01", "not-the-password")
        assert entries(new.data_dir) == kept
        # p01 works on where the backup left off: the team folder, the next version.
        p01 = new.login("p01", sheet["p01"])
        p01.start_server()
        assert "detector.ipynb" in p01.run_code("import os; print(os.listdir('team'))")
        homework(p01, "after the restore")
    versions = Store(new.data_dir / "submissions").versions("water", kind_for())
    assert [int(v.name) for v in versions] == list(range(1, len(versions) + 1))
    assert len(versions) == 1 + sum(name.startswith("water/homework/") for name in kept)


def damaged_copy(taken, folder: Path, damage) -> LabPaths:
    """The last backup restored into `folder`/data, then damaged."""
    paths = LabPaths(folder / "data")
    restore(taken.backups[-1], paths.data_dir)
    assert check_state(paths) == []  # healthy, as restored
    damage(paths)
    return paths


def garble_pages(paths: LabPaths) -> None:
    """Garbage over pages in the middle of the hub's database (a bad disk, a bad copy)."""
    size = paths.database.stat().st_size
    with paths.database.open("r+b") as handle:
        handle.seek(size // 3 // 4096 * 4096)
        handle.write(os.urandom(size // 3))


def truncate_passwords(paths: LabPaths) -> None:
    """Cut the password store's largest file in half (dbm.dumb: its data file)."""
    parts = paths.data_dir.glob(f"{paths.passwords.name}*")
    largest = max(parts, key=lambda part: part.stat().st_size)
    os.truncate(largest, largest.stat().st_size // 2)


DAMAGES = [
    (garble_pages, "jupyterhub.sqlite: the hub's database is damaged"),
    (truncate_passwords, "passwords.dbm: the password store is damaged"),
]


def state_files(paths: LabPaths, names=None) -> dict[str, bytes]:
    """The data dir's files (`names`, or all), to show nothing was overwritten."""
    found = names or [p.name for p in paths.data_dir.iterdir() if p.is_file()]
    return {name: (paths.data_dir / name).read_bytes() for name in found}


@pytest.mark.parametrize(("damage", "named"), DAMAGES)
def test_the_state_check_names_a_damaged_part_of_a_real_lab(taken, tmp_path, damage, named):
    paths = damaged_copy(taken, tmp_path, damage)
    before = state_files(paths)
    problems = check_state(paths)
    assert named in problems[0]
    assert f"icslab restore BACKUP --data-dir {paths.data_dir}" in problems[-1]
    assert state_files(paths) == before


@pytest.mark.parametrize(("damage", "named"), DAMAGES)
def test_icslab_up_refuses_a_damaged_state_and_overwrites_nothing(taken, tmp_path, damage, named):
    paths = damaged_copy(taken, tmp_path, damage)
    before = state_files(paths)
    lab = RunningLab(tmp_path)
    with pytest.raises(RuntimeError, match="icslab up exited with 2") as refused:
        lab.start()
    said = re.sub(r"\s+", " ", str(refused.value))
    assert named in said and f"icslab restore BACKUP --data-dir {paths.data_dir}" in said
    assert state_files(paths, before) == before  # (it may have added its hub.lock)
