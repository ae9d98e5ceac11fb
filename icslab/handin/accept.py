"""What every hand-in carries before the store keeps it (hub side): who sent it, for
which team, and the size cap. Each feature checks its own kind of hand-in
(`icslab.homework.accept`, `icslab.capstone.accept`).

Everything here reads what a participant sent: it is parsed, never trusted, and
what is stored is rewritten by the lab (notebooks re-serialised, predictions
re-written from the dataset's own timestamps). Who handed it in and for which
team come from the caller (the hub), never from the hand-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

MAX_BYTES = 64 * 1024 * 1024  # one hand-in: a team's notebooks with their outputs


@dataclass(frozen=True)
class Sender:
    """Who hands in, as the hub says: the user, their team and its members."""

    user: str
    team: str
    members: tuple[str, ...]


def entry_fields(sender: Sender, now: datetime | None) -> dict:
    """The manifest fields every entry has: the team, its members, who sent it, when."""
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "team": sender.team,
        "members": list(sender.members),
        "submitter": sender.user,
        "submitted_at": when,
    }
