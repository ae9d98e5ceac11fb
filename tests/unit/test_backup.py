"""Scenarios: an instructor backs up a lab's data dir, puts the backup back into an
empty data dir, and `icslab up` refuses a damaged database or password store. The
data dir here is made by hand the way a lab leaves it; tests/faults/ does the same
against a real running lab."""

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing

import pytest
from typer.testing import CliRunner

from icslab.backup import manifest
from icslab.backup.create import backup
from icslab.backup.restore import restore
from icslab.cli import app
from icslab.errors import InputError
from icslab.handin.store import Store, verify
from icslab.hub.accounts import write_private
from icslab.hub.passwords import PasswordStore, hash_password
from icslab.hub.state_check import check_state
from icslab.lab import LabPaths

USERS = ["trainer1", "p01", "p02"]


def mode(path):
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def paths(tmp_path):
    """A data dir as a lab leaves it: database, passwords and locks, secrets, a hand-in
    (and one being written), a participant's folder with links, the hub's runtime files."""
    paths = LabPaths(tmp_path / "data")
    paths.data_dir.mkdir(mode=0o700)
    with closing(sqlite3.connect(paths.database)) as db:
        db.execute("CREATE TABLE users (name TEXT, note TEXT)")
        db.executemany(
            "INSERT INTO users VALUES (?, ?)", [(f"u{i}", "x" * 400) for i in range(400)]
        )
        db.commit()
    store = PasswordStore(paths.passwords)
    store.set_hashes({name: hash_password(f"pw-{name}", rounds=4) for name in USERS})
    store.lock("p02", 300, "10.0.0.9")
    write_private(
        paths.credentials, "username,password\n" + "".join(f"{n},pw-{n}\n" for n in USERS)
    )
    write_private(paths.cookie_secret, "cookie-secret\n")
    write_private(paths.cli_token, "cli-token-secret\n")
    paths.lab_ca.mkdir(parents=True)
    write_private(paths.lab_ca / "ca.key", "ca-key\n")
    members = [{"username": name, "team": "water", "role": "participant"} for name in USERS]
    paths.lab_file.write_text(json.dumps({"data_dir": str(paths.data_dir), "members": members}))
    Store(paths.submissions).add("water", "homework", {"a.ipynb": b"{}"}, {"team": "water"})
    half_written = paths.submissions / "water" / "homework" / ".staging-x1"
    half_written.mkdir()
    (half_written / "a.ipynb").write_text("{")
    team = paths.data_dir / "teams" / "water"
    team.mkdir(parents=True)
    home = paths.users / "p01"
    home.mkdir(parents=True)
    (home / "notes.txt").write_text("mine")
    (home / "notes.txt").chmod(0o640)
    home.chmod(0o750)
    (home / "team").symlink_to(team)
    (home / "token").symlink_to(paths.cli_token)  # what a participant could plant
    (home / "root").symlink_to("/")
    (home / "up").symlink_to("../..")
    os.mkfifo(home / "pipe")
    for runtime in ("hub.lock", "proxy.pid"):
        (paths.data_dir / runtime).write_text("123\n")
    return paths


def take(paths, tmp_path):
    return backup(paths.data_dir, tmp_path / "backups")


def test_a_backup_is_one_folder_of_0700_with_a_manifest_of_every_file(paths, tmp_path):
    folder, made = take(paths, tmp_path)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging left
    assert folder.name.startswith("icslab-backup-") and folder.name.endswith("Z")
    assert mode(folder) == 0o700 and mode(folder / manifest.MANIFEST) == 0o600
    assert made == json.loads((folder / manifest.MANIFEST).read_text())
    assert made["entries"] == manifest.describe(folder)
    files = {path: entry for path, entry in made["entries"].items() if "sha256" in entry}
    assert made["files"] == len(files) and made["bytes"] == sum(e["size"] for e in files.values())
    for name in ("jupyterhub.sqlite", "credentials.csv", "cli_token", "tls/lab-ca/ca.key",
                 "logins.json", "submissions/water/homework/001/a.ipynb"):  # fmt: skip
        assert name in files
    # Not state: the hub's locks and pid files, a hand-in being written, a FIFO.
    for name in ("hub.lock", "proxy.pid", "passwords.dbm.lock", "users/p01/pipe"):
        assert name not in made["entries"]
    assert not any(".staging-" in name for name in made["entries"])


def test_links_are_copied_as_links_never_their_targets(paths, tmp_path):
    folder, made = take(paths, tmp_path)
    home = folder / "users" / "p01"
    for name in ("team", "token", "root", "up"):
        assert (home / name).is_symlink()
        assert os.readlink(home / name) == os.readlink(paths.users / "p01" / name)
        assert made["entries"][f"users/p01/{name}"] == {"link": os.readlink(home / name)}
    assert not any(name.startswith("users/p01/root/") for name in made["entries"])
    restored = tmp_path / "restored"
    restore(folder, restored)
    assert os.readlink(restored / "users/p01/token") == str(paths.cli_token)


def test_modes_are_kept_through_backup_and_restore(paths, tmp_path):
    folder, _ = take(paths, tmp_path)
    restored = LabPaths(tmp_path / "restored")
    restore(folder, restored.data_dir)
    for secret in ("credentials.csv", "jupyterhub_cookie_secret", "cli_token", "tls/lab-ca/ca.key",
                   "logins.json", "passwords.dbm.dat"):  # fmt: skip
        assert mode(folder / secret) == 0o600 and mode(restored.data_dir / secret) == 0o600
    for path in ("users/p01", "users/p01/notes.txt", "submissions", "jupyterhub.sqlite"):
        assert mode(restored.data_dir / path) == mode(paths.data_dir / path), path
    assert mode(restored.data_dir / "users/p01") == 0o750
    assert mode(restored.data_dir / "users/p01/notes.txt") == 0o640
    assert mode(restored.data_dir) == 0o700


def test_the_database_passwords_locks_and_hand_ins_come_back(paths, tmp_path):
    folder, _ = take(paths, tmp_path)
    restored = LabPaths(tmp_path / "restored")
    restore(folder, restored.data_dir)
    with closing(sqlite3.connect(restored.database)) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (400,)
    store = PasswordStore(restored.passwords)
    assert store.usernames() == set(USERS) and store.check("p01", "pw-p01")
    assert "10.0.0.9" in store.locks()["p02"]
    entry = verify(restored.submissions / "water" / "homework" / "001")
    assert entry.manifest["files"].keys() == {"a.ipynb"}
    assert json.loads(restored.lab_file.read_text())["data_dir"] == str(restored.data_dir)
    assert check_state(restored) == []


def test_restore_refuses_a_data_dir_that_is_not_empty(paths, tmp_path):
    folder, _ = take(paths, tmp_path)
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty") as refused:
        restore(folder, target)
    assert "nothing was changed" in str(refused.value)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "busy", "data"]
    with pytest.raises(InputError, match="is not empty"):
        restore(folder, paths.data_dir)  # the lab's own data dir


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda b: b.joinpath("credentials.csv").write_text("username,password\np01,x\n"),
         "credentials.csv: sha256, size changed"),
        (lambda b: b.joinpath("cli_token").chmod(0o644), "cli_token: mode changed"),
        (lambda b: b.joinpath("jupyterhub.sqlite").unlink(), "jupyterhub.sqlite: missing"),
        (lambda b: b.joinpath("users/p01/extra").write_text("?"),
         "users/p01/extra: not in the manifest"),
    ],
)  # fmt: skip
def test_restore_refuses_a_backup_that_fails_its_manifest(paths, tmp_path, damage, named):
    folder, _ = take(paths, tmp_path)
    damage(folder)
    target = tmp_path / "restored"
    with pytest.raises(InputError) as refused:
        restore(folder, target)
    assert "nothing was restored" in refused.value.problems[0]
    assert named in refused.value.problems
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "data"]  # no staging


def test_a_folder_without_a_manifest_is_not_a_backup(paths, tmp_path):
    folder, _ = take(paths, tmp_path)
    with pytest.raises(InputError, match=re.escape(f"latest here: {folder}")):
        restore(folder.parent, tmp_path / "restored")


def test_a_healthy_state_passes_and_a_new_data_dir_too(paths, tmp_path):
    assert check_state(paths) == []
    assert check_state(LabPaths(tmp_path / "never-started")) == []


def garble_pages(database):
    """Overwrite pages in the middle of a database with garbage (a bad disk, a bad copy)."""
    size = database.stat().st_size
    with database.open("r+b") as handle:
        handle.seek(size // 3 // 4096 * 4096)
        handle.write(os.urandom(size // 3))


def truncate_store(passwords):
    """Cut the password store's largest file in half (dbm.dumb: its data file)."""
    largest = max(passwords.parent.glob(f"{passwords.name}*"), key=lambda p: p.stat().st_size)
    os.truncate(largest, largest.stat().st_size // 2)


def unchanged(paths):
    return {p.name: p.read_bytes() for p in paths.data_dir.iterdir() if p.is_file()}


def test_a_damaged_database_is_named_with_the_restore_command(paths):
    garble_pages(paths.database)
    before = unchanged(paths)
    problems = check_state(paths)
    assert problems[0].startswith(f"{paths.database}: the hub's database is damaged")
    assert (
        len(problems) == 2 and f"icslab restore BACKUP --data-dir {paths.data_dir}" in problems[1]
    )
    assert unchanged(paths) == before


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (truncate_store, "no valid password hash for"),
        (lambda p: os.truncate(p.with_name(p.name + ".dir"), 0), "holds no password"),
        (lambda p: p.with_name(p.name + ".dir").unlink(), "incomplete"),
        (lambda p: p.with_name("logins.json").write_text('{"locks": {"p'), "logins.json"),
    ],
)
def test_a_damaged_password_store_is_named_with_the_restore_command(paths, damage, why):
    damage(paths.passwords)
    before = unchanged(paths)
    problems = check_state(paths)
    assert problems[0].startswith(f"{paths.passwords}: the password store is damaged")
    assert why in problems[0] and "icslab restore" in problems[-1]
    assert unchanged(paths) == before


def test_a_truncated_database_and_an_emptied_one_are_damaged(paths):
    os.truncate(paths.database, paths.database.stat().st_size // 2)
    assert "database disk image is malformed" in check_state(paths)[0]
    os.truncate(paths.database, 0)
    assert "empty" in check_state(paths)[0]


def test_a_crash_mid_transaction_is_not_damage(paths):
    """A hot journal (the hub killed while writing) is SQLite's to roll back at start:
    not reported, and left as it is."""
    crash = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA cache_size=1'); db.execute('BEGIN')\n"
        "db.executemany('INSERT INTO users VALUES (?, ?)', [('v', 'y' * 900)] * 2000)\n"
        "os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", crash, str(paths.database)], check=True)
    journal = paths.database.with_name("jupyterhub.sqlite-journal")
    assert journal.stat().st_size > 0
    before = unchanged(paths)
    assert check_state(paths) == []
    assert unchanged(paths) == before


def test_a_damaged_state_is_not_backed_up(paths, tmp_path):
    garble_pages(paths.database)
    with pytest.raises(InputError, match="the hub's database is damaged"):
        take(paths, tmp_path)
    assert list((tmp_path / "backups").glob("*")) == []


def test_the_commands(paths, tmp_path):
    runner = CliRunner()
    out = tmp_path / "backups"
    done = runner.invoke(app, ["backup", "--out", str(out), "--data-dir", str(paths.data_dir)])
    assert done.exit_code == 0, done.output
    (folder,) = out.iterdir()
    assert done.output.startswith(f"{folder}: ")
    target = tmp_path / "restored"
    done = runner.invoke(app, ["restore", str(folder), "--data-dir", str(target)])
    assert done.exit_code == 0 and f"icslab up --data-dir {target}" in done.output, done.output
    done = runner.invoke(app, ["restore", str(folder), "--data-dir", str(target)])
    assert done.exit_code == 2 and "is not empty" in done.output


def test_a_backup_or_restore_inside_itself_is_refused(paths, tmp_path):
    with pytest.raises(InputError, match="inside the data dir"):
        backup(paths.data_dir, paths.data_dir / "backups")
    assert not (paths.data_dir / "backups").exists()
    folder, _ = take(paths, tmp_path)
    with pytest.raises(InputError, match="inside the backup"):
        restore(folder, folder / "data")


def test_a_failed_backup_leaves_nothing(paths, tmp_path, monkeypatch):
    def disk_full(*_):
        raise OSError(28, "No space left on device", "jupyterhub.sqlite")

    monkeypatch.setattr("icslab.backup.create.copy_database", disk_full)
    with pytest.raises(InputError, match=r"no backup was made: jupyterhub\.sqlite: No space"):
        take(paths, tmp_path)
    assert list((tmp_path / "backups").iterdir()) == []
