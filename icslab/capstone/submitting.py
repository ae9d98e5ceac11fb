"""Handing predictions in for a team: to the lab's hand-in service, or as a practice
copy outside a lab."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from icslab.capstone.predictions import as_csv, flags_for
from icslab.capstone.targets import target
from icslab.errors import InputError
from icslab.files import write_atomic

SUBMISSIONS_ENV = "ICSLAB_SUBMISSIONS"


TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def submissions_folder() -> Path:
    """Where submissions go: $ICSLAB_SUBMISSIONS, else ~/work/submissions."""
    configured = os.environ.get(SUBMISSIONS_ENV)
    return Path(configured).expanduser() if configured else Path.home() / "work" / "submissions"


def practice_environment(folder: Path) -> dict[str, str]:
    """Environment for a trial run of the notebooks: `submit` writes practice copies
    into `folder` and never hands anything in to the lab."""
    from icslab.handin.client import SUBMIT_URL_ENV

    return {SUBMISSIONS_ENV: str(folder), SUBMIT_URL_ENV: ""}


def check_team(team: Any) -> str:
    """The team name, if it is 1-40 letters, digits, - and _ (starting with a letter or digit)."""
    if not isinstance(team, str) or not TEAM_NAME.match(team):
        raise InputError(
            f"team {team!r}: use 1 to 40 letters, digits, - and _, starting with a letter or "
            'digit (e.g. "blue-team"), the same for every member'
        )
    return team


@dataclass(frozen=True)
class Submission:
    """What `submit` handed in: `receipt` says where it went (the lab's hand-in
    number, or the practice file outside a lab)."""

    team: str
    dataset: str
    rows: int
    alarms: int
    submitted_at: datetime
    receipt: str

    def __repr__(self) -> str:
        share = self.alarms / self.rows if self.rows else 0.0
        return (
            f"Submission({self.team}/{self.dataset}: {self.rows:,} rows, {self.alarms:,} "
            f"flagged ({share:.1%}), {self.submitted_at:%Y-%m-%d %H:%M:%S}Z, {self.receipt})"
        )


def submit(
    predictions: Any,
    *,
    dataset: str,
    team: str | None = None,
    data: Path | None = None,
    folder: str | Path | None = None,
) -> Submission:
    """Check `predictions` (0/1 per row of `dataset`) and hand them in for your team.

    predictions: a Series of 0/1 or True/False on the dataset's own timestamps
        (`data.features.index`, or the BATADAL file's hours), or an array with one
        flag per row in order. No NaN.
    dataset: a plant dataset name ("capstone") or "batadal-test" / "batadal-validate".
    team: optional; the lab knows your team, and refuses another.
    data: the plant datasets' folder [default: icslab.data.data_root()].
    folder: practice outside a lab: write `<folder>/<team>/<dataset>.csv` instead
        [default there: submissions_folder()]. Nothing reads it but you.

    In a lab, the predictions go to the lab's hand-in service, which checks them
    again and keeps every version; the leaderboard scores the latest.
    """
    from icslab.handin import client

    rows = target(dataset, data=data)
    flags = flags_for(predictions, rows)
    body = as_csv(rows, flags)
    if folder is None and client.in_a_lab():
        client.check_team(team)
        answer = client.hand_in(f"capstone/{dataset}", body.encode("utf-8"), "text/csv")
        receipt = f"handed in to the lab as version {answer['number']}"
        when = datetime.fromisoformat(answer["submitted_at"])
        return Submission(answer["team"], dataset, len(flags), int(flags.sum()), when, receipt)
    team = check_team(team or os.environ.get("ICSLAB_TEAM") or "practice")
    path = Path(folder) if folder is not None else submissions_folder()
    path = path / team / f"{dataset}.csv"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, body.encode("utf-8"), 0o644)
    except OSError as error:
        raise InputError(f"{path}: cannot write it: {error.strerror}") from None
    receipt = f"practice, outside a lab: kept in {path} (nobody scores it)"
    return Submission(team, dataset, len(flags), int(flags.sum()), datetime.now(UTC), receipt)
