"""The room's record: one row per self-check, in SQLite in the data dir.

The room service is the only writer; `icslab room export` reads beside it (WAL).
User, team and time are the service's (from the hub and its own clock), never the
kernel's.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

VERDICTS = ("correct", "not yet", "not answered")

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    user TEXT NOT NULL,
    team TEXT NOT NULL,
    exercise TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'not yet', 'not answered')),
    hinted INTEGER NOT NULL CHECK (hinted IN (0, 1))
)
"""


@dataclass(frozen=True)
class Check:
    at: float  # seconds since the epoch, the service's clock
    user: str
    team: str  # "" for someone in no team (an instructor trying an exercise)
    exercise: str
    verdict: str
    hinted: bool


class Store:
    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)

    def add(self, check: Check) -> None:
        self._db.execute(
            "INSERT INTO checks (at, user, team, exercise, verdict, hinted) VALUES (?,?,?,?,?,?)",
            (check.at, check.user, check.team, check.exercise, check.verdict, int(check.hinted)),
        )

    def checks(self) -> Iterator[Check]:
        rows = self._db.execute(
            "SELECT at, user, team, exercise, verdict, hinted FROM checks ORDER BY id"
        )
        for at, user, team, exercise, verdict, hinted in rows:
            yield Check(at, user, team, exercise, verdict, bool(hinted))

    def close(self) -> None:
        self._db.close()


def export_csv(path: Path) -> bytes:
    """Every check recorded, oldest first, as CSV (times in UTC, ISO 8601)."""
    from datetime import UTC, datetime

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time", "user", "team", "exercise", "verdict", "hint_shown"])
    store = Store(path)
    try:
        for check in store.checks():
            at, *rest = astuple(check)
            when = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
            writer.writerow([when, *rest[:-1], "yes" if check.hinted else "no"])
    finally:
        store.close()
    return out.getvalue().encode()
