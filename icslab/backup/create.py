"""`icslab backup`: a consistent copy of a lab's data dir, made while the lab runs.

- the hub's database through SQLite's online backup API (a file copy of a live
  database can catch half a transaction);
- the password store and its locks (logins.json) read under the lock the hub and
  `icslab passwords` hold, and written out as a fresh store of the same kind;
- everything else file by file, modes kept, links copied as links; the hand-in
  store's entries are renamed into place when complete, so an entry is in the
  backup whole or not at all (staging folders are left out).

It is made in a staging folder beside its final place and renamed there once its
manifest is written: `DIR/icslab-backup-<UTC time>/` is complete or absent.
"""

from __future__ import annotations

import dbm
import importlib
import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from stat import S_IMODE

from icslab.backup import manifest
from icslab.backup.tree import copy_tree
from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.handin.store import ENTRY, MANIFEST, verify
from icslab.hub.passwords import PasswordStore
from icslab.hub.state_check import check_state
from icslab.lab import LabPaths

PREFIX = "icslab-backup-"
STAMP = "%Y%m%dT%H%M%SZ"
# The running hub's locks and pid files: not state, and a restored lab makes its own.
RUNTIME = {"hub.lock", "proxy.pid", "jupyterhub-proxy.pid"}


def backup(data_dir: Path, out: Path) -> tuple[Path, dict]:
    """Back up the lab in `data_dir` into a new folder in `out`; returns it and its manifest."""
    source = LabPaths(data_dir.resolve())
    if not (source.database.exists() or source.lab_file.exists()):
        raise InputError(f"{source.data_dir}: no lab here (no hub database, no lab.json)")
    if out.resolve().is_relative_to(source.data_dir):  # it would copy itself, endlessly
        raise InputError(f"--out {out}: inside the data dir; choose a folder outside it")
    problems = check_state(source)  # a backup of a damaged state would not restore
    if problems:
        raise InputError(*problems)
    started = datetime.now(UTC)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{PREFIX}", suffix=".partial", dir=out))  # 0700
    try:
        copy_tree(source.data_dir, staging, skip=_not_copied_as_files(source))
        _check_entries(staging / source.submissions.name)
        copy_database(source.database, staging / source.database.name)
        copy_password_store(source.passwords, staging / source.passwords.name)
        fields = {
            "created": started.isoformat(timespec="seconds"),
            "data_dir": str(source.data_dir),
        }
        made = manifest.write(staging, fields)
        os.sync()  # on disk before it gets its name: after a power cut, complete or absent
        final = out / f"{PREFIX}{started.strftime(STAMP)}"
        if final.exists():
            raise InputError(f"{final} exists: try again in a second")
        staging.rename(final)
    except (OSError, sqlite3.Error) as error:  # a full disk, say: nothing is left behind
        shutil.rmtree(staging, ignore_errors=True)
        where = getattr(error, "filename", None) or out
        why = getattr(error, "strerror", None) or error
        raise InputError(f"no backup was made: {where}: {why}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final, made


def _not_copied_as_files(source: LabPaths):
    database, passwords = source.database.name, source.passwords.name
    logins = PasswordStore(source.passwords).logins_path.name

    def skip(relative: PurePosixPath) -> bool:
        name = relative.name
        if len(relative.parts) == 1:  # the database (and its journal), the password store
            return name in RUNTIME or name == logins or name.startswith((database, passwords))
        # A hand-in being written: absent until renamed into place (handin/store.py).
        return relative.parts[0] == source.submissions.name and name.startswith(".staging-")

    return skip


def _check_entries(submissions: Path) -> None:
    """Every copied hand-in entry matches its manifest (entries never change once there)."""
    for entry in submissions.glob(f"**/{MANIFEST}"):
        if ENTRY.match(entry.parent.name):
            verify(entry.parent)


def copy_database(source: Path, target: Path) -> None:
    if not source.exists():
        return
    uri = f"{source.as_uri()}?mode=ro"
    # timeout: the hub may be writing; the backup waits for it, then copies at once.
    live = closing(sqlite3.connect(uri, uri=True, timeout=60))
    with live as db, closing(sqlite3.connect(target)) as copy:
        db.backup(copy)
    os.chmod(target, S_IMODE(source.stat().st_mode))


def copy_password_store(source: Path, target: Path) -> None:
    """Read under the store's lock, so no reset or password change lands half-way."""
    store = PasswordStore(source)
    kind = dbm.whichdb(str(source))
    if not kind:  # check_state found no store: a lab with no accounts yet
        return
    with store._exclusive(), dbm.open(str(source), "r") as db:
        hashes = {key: db[key] for key in db.keys()}  # noqa: SIM118 (gdbm has no iter)
        logins = store.logins_path.read_bytes() if store.logins_path.exists() else None
    # The same backend as the lab's, which this machine's hub reads.
    with importlib.import_module(kind).open(str(target), "n", 0o600) as copy:
        for key, value in hashes.items():
            copy[key] = value
    for part in target.parent.glob(f"{target.name}*"):
        part.chmod(0o600)
    if logins is not None:
        write_atomic(target.parent / store.logins_path.name, logins, 0o600)
