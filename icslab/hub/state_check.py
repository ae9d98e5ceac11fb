"""Is the lab's stored state readable? `icslab up` asks before it changes any of it.

A truncated or damaged hub database or password store must stop the lab, named,
with the command that puts a backup back: left alone, the hub would make a fresh
database over the old one, and the roster sync would hand everyone new passwords
(and rewrite the credentials sheet). Nothing here writes to the data dir: a
damaged file stays as it is, for the instructor to keep or replace.
"""

from __future__ import annotations

import dbm
import json
import re
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from icslab.hub.passwords import PasswordStore
from icslab.lab import LabPaths

# What passwords.py stores for every user: a bcrypt hash, $2b$<cost>$<53 characters>.
BCRYPT = re.compile(rb"\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}")
# SQLite answers these to a read-only connection when a crash left a hot journal,
# which only a writer may roll back.
HOT_JOURNAL = {"SQLITE_READONLY_ROLLBACK", "SQLITE_READONLY_RECOVERY"}


def check_state(paths: LabPaths) -> list[str]:
    """Every damaged part of the lab's state, then what to do; [] when all is well."""
    problems = damaged_parts(paths)
    if problems:
        where = paths.data_dir
        problems.append(
            f"nothing was changed. Put your latest backup back into an empty data dir: "
            f"`mv {where} {where}.damaged && icslab restore BACKUP --data-dir {where}` "
            "(BACKUP: a folder DIR/icslab-backup-<time> made by `icslab backup --out DIR`)"
        )
    return problems


def damaged_parts(paths: LabPaths) -> list[str]:
    """One line per damaged part, naming its file."""
    # lab.json is written at the end of every start: if it lists users, the lab has run,
    # and an empty database or password store is a loss, not a first start.
    users = _roster_size(paths.lab_file)
    problems = []
    if why := database_damage(paths.database, users > 0):
        problems.append(f"{paths.database}: the hub's database is damaged ({why})")
    if why := password_store_damage(paths.passwords, users):
        problems.append(f"{paths.passwords}: the password store is damaged ({why})")
    return problems


def database_damage(path: Path, has_run: bool = True) -> str | None:
    """Why the SQLite database at `path` is damaged, or None (also when absent)."""
    if not path.exists():
        return None
    if path.stat().st_size == 0:
        return "empty: truncated" if has_run else None
    try:
        try:
            return _quick_check(f"{path.resolve().as_uri()}?mode=ro")
        except sqlite3.DatabaseError as error:
            if getattr(error, "sqlite_errorname", None) not in HOT_JOURNAL:
                raise
        # After a crash: check a copy, which SQLite rolls back as the hub will at start.
        with tempfile.TemporaryDirectory(prefix="icslab-check-") as scratch:
            copy = Path(scratch) / path.name
            for suffix in ("", "-journal", "-wal"):
                if (part := path.with_name(path.name + suffix)).exists():
                    shutil.copyfile(part, copy.with_name(copy.name + suffix))
            return _quick_check(copy.as_uri())
    except sqlite3.DatabaseError as error:
        return str(error)


def _quick_check(uri: str) -> str | None:
    with closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
        rows = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    return None if rows == ["ok"] else "; ".join(rows)


def password_store_damage(path: Path, users: int = 0) -> str | None:
    """Why the password store at `path` (any dbm backend's files) is damaged, or None.
    `users`: how many the lab's roster had at its last start."""
    store = PasswordStore(path)
    files = [p for p in path.parent.glob(f"{path.name}*") if p.name != f"{path.name}.lock"]
    if not files:
        return "missing, though the lab has run" if users else None
    if not dbm.whichdb(str(path)):
        return "its files are incomplete or of no known format"
    try:
        with store._exclusive(), dbm.open(str(path), "r") as db:  # the hub's own lock
            # Keys come back as bytes from every backend; gdbm has no iter (SIM118).
            hashes = {k: db[k] for k in db.keys() if isinstance(k, bytes)}  # noqa: SIM118
            logins = store.logins_path.read_text("utf-8") if store.logins_path.exists() else "{}"
    except Exception as error:  # each backend fails its own way on a damaged file
        return f"unreadable: {type(error).__name__}"
    bad = sorted(key.decode("utf-8", "replace") for key, value in hashes.items()
                 if not BCRYPT.fullmatch(value))  # fmt: skip
    if bad:
        return f"no valid password hash for {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}"
    if not hashes and users:
        return f"it holds no password, though the lab has {users} users"
    try:
        if not isinstance(json.loads(logins), dict):
            raise ValueError
    except ValueError:
        return f"{store.logins_path.name} (its locks) is not a JSON object"
    return None


def _roster_size(lab_file: Path) -> int:
    try:
        return len(json.loads(lab_file.read_text("utf-8"))["members"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0  # no lab.json: never started (or it is remade from the settings)
