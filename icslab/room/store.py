"""The room's record, in SQLite in the data dir: one row per self-check, and one per
alert a team raised on its live plant (icslab.plant.alerting).

The room service is the only writer; `icslab room export` reads beside it (WAL).
User, team and time are the service's (from the hub and its own clock), never the
kernel's.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

from icslab.plant.scoring import Alert

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
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    user TEXT NOT NULL,
    team TEXT NOT NULL,
    reason TEXT NOT NULL,
    tags TEXT NOT NULL  -- a JSON list of tag names
);
CREATE INDEX IF NOT EXISTS alerts_by_team ON alerts (team, id);
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
        self._db.executescript(SCHEMA)

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

    def add_alert(self, team: str, alert: Alert) -> None:
        self._db.execute(
            "INSERT INTO alerts (at, user, team, reason, tags) VALUES (?,?,?,?,?)",
            (alert.at, alert.user, team, alert.reason, json.dumps(list(alert.tags))),
        )

    def alerts(self, team: str) -> list[Alert]:
        """The team's alerts, oldest first."""
        rows = self._db.execute(
            "SELECT at, user, reason, tags FROM alerts WHERE team = ? ORDER BY id", (team,)
        )
        return [Alert(at, user, reason, tuple(json.loads(tags))) for at, user, reason, tags in rows]

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
