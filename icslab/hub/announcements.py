"""Announcements: what `icslab announce` tells the room (or one team), until when.

Stored as one JSON file in the data dir, replaced whole on every change. The hub
shows the current ones on its pages; the room service hands them to participants'
servers, which show them in JupyterLab as notifications.
"""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from icslab.errors import InputError
from icslab.files import write_atomic

MAX_MESSAGE = 500  # characters: a notification, not a handout


@dataclass(frozen=True)
class Announcement:
    id: str
    message: str
    team: str | None  # None: everyone
    until: str | None  # ISO time in UTC; None: until cleared
    created: str

    def current(self, now: datetime) -> bool:
        return self.until is None or datetime.fromisoformat(self.until) > now

    def for_team(self, team: str | None) -> bool:
        return self.team is None or self.team == team


def read(path: Path) -> list[Announcement]:
    if not path.exists():
        return []
    try:
        return [Announcement(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))]
    except (ValueError, TypeError) as error:
        raise InputError(f"{path}: not an announcements file ({error}); remove it") from None


def current(path: Path, team: str | None, now: datetime | None = None) -> list[Announcement]:
    """What a member of `team` (None: someone in no team, or not logged in) sees now."""
    now = now or datetime.now(UTC)
    try:
        found = read(path)
    except InputError:
        return []  # a page must still render; `icslab announce` reports the file
    return [a for a in found if a.current(now) and a.for_team(team)]


def add(path: Path, message: str, team: str | None, until: datetime | None) -> Announcement:
    message = " ".join(message.split())
    if not message:
        raise InputError("the announcement is empty: say something, e.g. 'Lunch: back at 13:30'")
    if len(message) > MAX_MESSAGE:
        raise InputError(f"the announcement has {len(message)} characters; at most {MAX_MESSAGE}")
    now = datetime.now(UTC)
    if until is not None and until <= now:
        raise InputError(f"--until {until:%H:%M} is already past: give a later time")
    announcement = Announcement(
        id=secrets.token_hex(6),
        message=message,
        team=team,
        until=until.isoformat(timespec="seconds") if until else None,
        created=now.isoformat(timespec="seconds"),
    )
    kept = [a for a in read(path) if a.current(now)]
    _write(path, [*kept, announcement])
    return announcement


def clear(path: Path, team: str | None = None) -> int:
    """Remove every announcement (or those for one team); how many were current."""
    now = datetime.now(UTC)
    found = [a for a in read(path) if a.current(now)]
    kept = [a for a in found if team is not None and a.team != team]
    _write(path, kept)
    return len(found) - len(kept)


def _write(path: Path, announcements: list[Announcement]) -> None:
    data = json.dumps([asdict(a) for a in announcements], indent=1).encode()
    write_atomic(path, data, mode=0o644)


def as_html(announcements: list[Announcement]) -> str:
    """For the hub's page banner (which JupyterHub inserts unescaped)."""
    return "<br>".join(f"📣 {html.escape(a.message)}" for a in announcements)
