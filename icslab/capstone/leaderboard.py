"""The capstone leaderboard (`icslab leaderboard`): score every team's latest submission,
rank by S, write HTML and CSV.

Submissions are the teams' hand-ins in the lab's hand-in store (icslab.handin:
`icslab.capstone.submit` hands them in; only the latest of each team and dataset
is scored). For each team:

- the plant dataset (`capstone` unless told otherwise) is scored against its
  hidden answers, `<answers>/<dataset>/labels.csv` (default
  data_root()/.answers, where `icslab datasets build` puts them), or its published
  labels.csv if it has one: S, S_TTD, S_CM, event recall, false alarms per day and
  the share of normal time in alarm (`icslab.metrics`: normal time is outside every
  attack and the 30 minutes after it);
- `batadal-validate` (dataset04) is scored on dataset04's labelled hours: its
  attack hours, and as normal every unknown hour outside the seven attack windows
  the organisers published (`icslab.protocols.reference_labels`, "labelled");
- `batadal-test` is only checked and counted: its labels were never published.

A submission that cannot be read or does not line up with its dataset is reported
with the reason; every other one is still scored.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from icslab.capstone import (
    BATADAL_SETS,
    Score,
    Target,
    read_submission,
    score,
    target,
)
from icslab.capstone.accept import PREDICTIONS
from icslab.data.plant import data_root
from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.formats import attack_labels, read_attacks
from icslab.handin.store import Entry, Store, kind_for
from icslab.protocols import reference_labels

VALIDATE, TEST = "batadal-validate", "batadal-test"


@dataclass
class Result:
    """One scored (or refused) submission."""

    dataset: str
    path: Path
    submitted: datetime
    score: Score | None = None
    rows: int = 0
    alarms: int = 0


@dataclass
class Team:
    name: str
    results: dict[str, Result] = field(default_factory=dict)

    def s(self, dataset: str) -> float:
        result = self.results.get(dataset)
        return result.score.s if result and result.score else math.nan


@dataclass
class Board:
    dataset: str  # the plant dataset the board ranks by
    teams: list[Team]  # ranked
    problems: list[str]
    generated: datetime


# ---------------------------------------------------------------------------
# Finding and scoring submissions


def find_submissions(
    store: Store, teams: Sequence[str] = ()
) -> tuple[dict[str, dict[str, Entry]], list[str]]:
    """{team: {dataset: latest hand-in}} for every team in the store or in `teams`, and
    the hand-ins that cannot be read (each reported, none stopping the others)."""
    found: dict[str, dict[str, Entry]] = {}
    problems = []
    for team in sorted(set(store.teams()) | set(teams)):
        entries = found.setdefault(team, {})  # listed even before it hands in
        for dataset in store.datasets(team):
            try:
                entry = store.latest(team, kind_for(dataset))
            except InputError as error:
                problems += [f"team {team}: {problem}" for problem in error.problems]
                continue
            if entry is not None:
                entries[dataset] = entry
    return found, problems


def plant_labels(dataset: str, rows: Target, answers: Path, data: Path) -> pd.Series:
    """The dataset's labels: the hidden answers, else its published labels.csv."""
    for path in (answers / dataset / "labels.csv", data / dataset / "labels.csv"):
        if path.is_file():
            try:
                return attack_labels(rows.index, read_attacks(path))
            except OSError as error:  # the answers are private to whoever built them
                raise InputError(f"{path}: cannot read it ({error.strerror})") from None
    raise InputError(
        f"no labels for {dataset}: neither {answers / dataset / 'labels.csv'} nor "
        f"{data / dataset / 'labels.csv'} exists (build it with `icslab datasets build "
        f"{dataset}` on this machine, or give --answers)"
    )


def batadal_references(folder: Path) -> tuple[Target, Target, pd.Series]:
    """The two BATADAL targets and dataset04's scoring labels ("labelled" protocol)."""
    from icslab.data import load_batadal

    validate, test = target(VALIDATE, batadal=folder), target(TEST, batadal=folder)
    labels = reference_labels(load_batadal(validate.source).labels, "labelled")
    return validate, test, labels


def build_board(
    store: Store,
    roster: Sequence[str] = (),
    *,
    dataset: str = "capstone",
    answers: Path | None = None,
    data: Path | None = None,
    batadal: Path | None = None,
) -> Board:
    """Score every team's latest hand-in (teams of the `roster` are listed even before
    they hand in). InputError if `dataset` cannot be scored at all (unknown, or no
    labels); a bad hand-in is a problem on the board."""
    data = data or data_root()
    answers = answers or data / ".answers"
    if dataset in BATADAL_SETS:
        raise InputError(f"--dataset {dataset!r}: give the plant dataset to rank by")
    rows = target(dataset, data=data)
    labels = plant_labels(dataset, rows, answers, data)
    found, problems = find_submissions(store, roster)
    references = None
    needs_batadal = any(set(files) & set(BATADAL_SETS) for files in found.values())
    if needs_batadal:
        try:
            from icslab.data import batadal_folder

            references = batadal_references(batadal or batadal_folder())
        except InputError as error:
            problems.append(f"BATADAL submissions cannot be checked: {' '.join(error.problems)}")
    teams = []
    for name, files in sorted(found.items()):
        team = Team(name)
        for set_name, entry in sorted(files.items()):
            path = entry.folder / PREDICTIONS
            if set_name == dataset:
                expected, truth = rows, labels
            elif set_name in BATADAL_SETS:
                if references is None:
                    continue
                validate, test, validate_labels = references
                expected, truth = (
                    (validate, validate_labels) if set_name == VALIDATE else (test, None)
                )
            else:
                problems.append(
                    f"team {name}: {set_name} not scored: this leaderboard ranks {dataset} "
                    f"(and {', '.join(BATADAL_SETS)})"
                )
                continue
            try:
                flags = read_submission(path, expected)
            except InputError as error:
                problems += [f"team {name}: {problem}" for problem in error.problems]
                continue
            submitted = datetime.fromisoformat(entry.manifest["submitted_at"])
            result = Result(set_name, path, submitted, rows=len(flags), alarms=int(flags.sum()))
            if truth is not None:
                result.score = score(pd.Series(flags, index=expected.index), truth)
            team.results[set_name] = result
        teams.append(team)
    teams.sort(
        key=lambda t: (-np.nan_to_num(t.s(dataset), nan=-1.0), _false_alarms(t, dataset), t.name)
    )
    return Board(dataset, teams, problems, datetime.now(UTC))


def _false_alarms(team: Team, dataset: str) -> float:
    result = team.results.get(dataset)
    return result.score.false_alarms_per_day if result and result.score else math.inf


# ---------------------------------------------------------------------------
# Rendering: one row per team


# CSV column: what the terminal and the HTML call it
COLUMNS = {
    "rank": "#",
    "team": "team",
    "S": "S",
    "S_TTD": "S_TTD",
    "S_CM": "S_CM",
    "event_recall": "events",
    "false_alarms_per_day": "FA/day",
    "normal_time_in_alarm": "in alarm",
    "flagged": "flagged",
    "submitted": "submitted (UTC)",
    "batadal04_S": "BATADAL 04 S",
    "batadal04_event_recall": "BATADAL 04 events",
    "batadal_test_flagged": "BATADAL test",
}


def board_rows(board: Board) -> list[dict[str, str]]:
    """The leaderboard as text cells (keys: COLUMNS), ranked."""
    table = []
    for rank, team in enumerate(board.teams, start=1):
        plant = team.results.get(board.dataset)
        validate = team.results.get(VALIDATE)
        test = team.results.get(TEST)
        scored = plant is not None and plant.score is not None
        table.append(
            {
                "rank": str(rank) if scored else "",
                "team": team.name,
                "S": _cell(plant, "s"),
                "S_TTD": _cell(plant, "s_ttd"),
                "S_CM": _cell(plant, "s_cm"),
                "event_recall": _cell(plant, "event_recall", "{:.0%}"),
                "false_alarms_per_day": _cell(plant, "false_alarms_per_day", "{:.1f}"),
                "normal_time_in_alarm": _cell(plant, "normal_time_in_alarm", "{:.1%}"),
                "flagged": _cell(plant, "alarm_share", "{:.1%}"),
                "submitted": f"{plant.submitted:%Y-%m-%d %H:%M}" if plant else "",
                "batadal04_S": _cell(validate, "s"),
                "batadal04_event_recall": _cell(validate, "event_recall", "{:.0%}"),
                "batadal_test_flagged": f"{test.alarms}/{test.rows} h" if test else "",
            }
        )
    return table


def _cell(result: Result | None, name: str, style: str = "{:.3f}") -> str:
    if result is None or result.score is None:
        return ""
    value = getattr(result.score, name)
    return "" if math.isnan(value) else style.format(value)


def to_csv(board: Board) -> str:
    rows = board_rows(board)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_html(board: Board) -> str:
    rows = board_rows(board)
    head = "".join(f"<th>{html.escape(name)}</th>" for name in COLUMNS.values())
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(row[c])}</td>" for c in COLUMNS) + "</tr>"
        for row in rows
    )
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in board.problems)
    dataset = html.escape(board.dataset)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Capstone leaderboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }}
th {{ background: #eef; }} th:nth-child(2), td:nth-child(2) {{ text-align: left; }}
td:nth-child(2) {{ font-weight: bold; }}
tr:nth-child(-n+3) td:first-child {{ background: #ffd; }}
</style></head><body>
<h1>Capstone leaderboard</h1>
<p>Generated {board.generated:%Y-%m-%d %H:%M} UTC. Ranked by S on <b>{dataset}</b>, the
unseen attack set, scored against its hidden labels; ties go to fewer false alarms.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table>
<h2>How to read it</h2>
<ul>
<li><b>S</b> = (S_TTD + S_CM) / 2, the BATADAL competition score: 1 is perfect. S_TTD rewards
early detection (1 - mean time to detect / attack duration), S_CM = (TPR + TNR) / 2 rewards
flagging the attack seconds and only them. An alarm that never stops scores 0.75, a silent
detector 0.25: read S with the false alarms per day and the normal time in alarm.</li>
<li><b>events</b>: the share of attacks with at least one alarm inside them.
<b>Normal time</b> is every second outside the attacks and the 30 minutes after each
(the plant may still look abnormal while it recovers).
<b>FA/day</b>: false alarms per day of normal time; a false alarm is a run of alarmed
seconds in normal time, so an alarm left on counts once for every stretch between attacks.
<b>in alarm</b>: the share of normal time in alarm (100% for an alarm that never
stops). <b>flagged</b>: the share of all seconds flagged.</li>
<li><b>BATADAL 04</b>: predictions for BATADAL dataset04, scored on its labelled hours (its
attack hours; unknown hours outside the seven published attack windows count as normal).
Predictions of a detector calibrated on dataset04 itself are flattered here.</li>
<li><b>BATADAL test</b>: hours flagged of the competition's test file. It carries no
labels: submissions are checked and counted, not scored.</li>
</ul>
<h2>Submissions that could not be scored</h2>
<ul>{problems or "<li>none</li>"}</ul>
</body></html>
"""


def csv_beside(out: Path) -> Path:
    """Where the CSV copy of the leaderboard OUT goes; refuse an OUT that leaves no room."""
    csv_path = out.with_suffix(".csv")
    if csv_path == out:
        raise InputError(
            f"--out {out}: name the HTML file (e.g. leaderboard.html); the CSV goes beside it"
        )
    return csv_path


def write_board(board: Board, out: Path) -> Path:
    """Write the leaderboard as HTML to OUT and as CSV beside it (each whole or not at all);
    return the CSV's path."""
    csv_path = csv_beside(out)
    try:
        write_atomic(out, to_html(board).encode("utf-8"), 0o644)
        write_atomic(csv_path, to_csv(board).encode("utf-8"), 0o644)
    except OSError as error:
        raise InputError(f"{out}: cannot write the leaderboard: {error}") from None
    return csv_path
