"""The capstone: teams predict attacks on sets they cannot score themselves, and submit.

    from icslab.capstone import submit, score
    score(flags, test.labels)          # S, S_TTD, S_CM, event recall, false alarms/day
    submit(flags, dataset="capstone")

`submit` checks the predictions against the dataset (one 0/1 flag per row, same
timestamps, nothing missing) and hands them in to the lab (icslab.handin), which
keeps every version for the participant's team; the leaderboard scores the latest
(`icslab leaderboard`, see icslab.leaderboard). Outside a lab it writes a practice
copy to `<submissions>/<team>/<dataset>.csv`, where `<submissions>` is
$ICSLAB_SUBMISSIONS, else ~/work/submissions.

Datasets a team can submit for (`DATASETS`):
- a plant dataset by name (the capstone's unseen `capstone`, or any other built
  one): a `timestamp,attack` row per second, timestamps as in its scada.parquet;
- `batadal-test` (BATADAL_test_dataset.csv, no labels published) and
  `batadal-validate` (BATADAL_dataset04.csv): `DATETIME,ATT_FLAG` rows, one per
  hour of the file, its DATETIME cells copied as written (the competition format).
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from icslab.atomic import write_atomic
from icslab.data.plant import data_root
from icslab.errors import InputError

SUBMISSIONS_ENV = "ICSLAB_SUBMISSIONS"
BATADAL_SETS = {
    "batadal-test": "BATADAL_test_dataset.csv",
    "batadal-validate": "BATADAL_dataset04.csv",
}
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
PLANT_COLUMNS = ("timestamp", "attack")
BATADAL_COLUMNS = ("DATETIME", "ATT_FLAG")


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


# ---------------------------------------------------------------------------
# What a submission must line up with


@dataclass(frozen=True)
class Target:
    """The rows a submission for `dataset` must have.

    index: the time of each row (UTC). cells: how each row's time is written in the
    submission file. columns: the file's header.
    """

    dataset: str
    index: pd.DatetimeIndex
    cells: tuple[str, ...]
    columns: tuple[str, str]
    source: Path

    @property
    def is_batadal(self) -> bool:
        return self.dataset in BATADAL_SETS


def target(dataset: str, *, data: Path | None = None, batadal: Path | None = None) -> Target:
    """The rows of `dataset`: a plant dataset under `data` (default data_root()), or a
    BATADAL set in `batadal` (default icslab.data.batadal_folder())."""
    if not isinstance(dataset, str) or not dataset:
        raise InputError(f"dataset {dataset!r}: give a dataset name such as 'capstone'")
    if dataset in BATADAL_SETS:
        return _batadal_target(dataset, batadal)
    return _plant_target(dataset, data or data_root())


def _plant_target(dataset: str, data: Path) -> Target:
    scada = data / dataset / "scada.parquet"
    if "/" in dataset or "\\" in dataset or dataset.startswith(".") or not scada.is_file():
        known = [*sorted(p.parent.name for p in data.glob("*/scada.parquet")), *BATADAL_SETS]
        raise InputError(f"unknown dataset {dataset!r}: submit for one of {', '.join(known)}")
    try:
        stamps = pq.read_table(scada, columns=["timestamp"]).column(0).to_pandas()
    except (OSError, pa.ArrowException, KeyError) as error:
        raise InputError(f"{scada}: unreadable ({error})") from None
    index = pd.DatetimeIndex(stamps, name="timestamp")
    seconds = index.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
    cells = np.char.add(np.datetime_as_string(seconds, unit="s"), "Z")  # 2026-03-13T00:00:00Z
    return Target(dataset, index, tuple(cells.tolist()), PLANT_COLUMNS, scada)


def _batadal_target(dataset: str, folder: Path | None) -> Target:
    from icslab.data import batadal_folder, load_batadal

    path = (folder or batadal_folder()) / BATADAL_SETS[dataset]
    index = load_batadal(path).features.index
    with path.open(newline="", encoding="utf-8-sig") as handle:
        cells = [row[0].strip() for row in csv.reader(handle) if row][1:]
    if len(cells) != len(index):
        raise InputError(f"{path}: {len(cells)} DATETIME cells for {len(index)} rows")
    return Target(dataset, index, tuple(cells), BATADAL_COLUMNS, path)


# ---------------------------------------------------------------------------
# Checking predictions


def flags_for(predictions: Any, target: Target) -> np.ndarray:
    """The predictions as an int8 array of 0/1 in the target's row order, or an
    InputError saying what does not line up."""
    n = len(target.index)
    what = f"predictions for {target.dataset}"
    if isinstance(predictions, pd.DataFrame):
        if predictions.shape[1] != 1:
            raise InputError(
                f"{what}: give one column of 0/1 flags (a Series), not a table of "
                f"{predictions.shape[1]} columns"
            )
        predictions = predictions.iloc[:, 0]
    if isinstance(predictions, pd.Series) and isinstance(predictions.index, pd.DatetimeIndex):
        _check_times(predictions.index, target, what)
    values = predictions.to_numpy() if isinstance(predictions, pd.Series) else predictions
    try:
        values = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise InputError(f"{what}: not a sequence of 0/1 flags ({error})") from None
    if values.ndim != 1:
        raise InputError(f"{what}: give one flag per row (1-D), got shape {values.shape}")
    if len(values) != n:
        unit = "hour" if target.is_batadal else "second"
        raise InputError(
            f"{what}: {len(values):,} flags, but {target.dataset} has {n:,} rows (one per {unit})"
        )
    try:
        numbers = pd.Series(values).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError(f"{what}: flags must be 0/1 or True/False") from None
    missing = np.isnan(numbers)
    if missing.any():
        first = int(np.argmax(missing))
        raise InputError(
            f"{what}: {int(missing.sum()):,} flags are missing (NaN), first at "
            f"{target.cells[first]}: decide 0 or 1 for every row (e.g. .fillna(0))"
        )
    bad = (numbers != 0) & (numbers != 1)
    if bad.any():
        first = int(np.argmax(bad))
        raise InputError(
            f"{what}: flags must be 0 or 1; {int(bad.sum()):,} are not, first "
            f"{numbers[first]:g} at {target.cells[first]} (scores? compare them with a threshold)"
        )
    return numbers.astype(np.int8)


def _check_times(index: pd.DatetimeIndex, target: Target, what: str) -> None:
    expected = target.index
    if index.tz is None:
        raise InputError(f"{what}: the index has no time zone; the dataset's times are UTC")
    if index.equals(expected):
        return
    if len(index) < len(expected) and len(index) > 1:
        step = (index[1:] - index[:-1]).median()
        if step > (expected[1] - expected[0]):
            raise InputError(
                f"{what}: one flag every {_span(step)}, but the dataset has a row every "
                f"{_span(expected[1] - expected[0])}: bring them back to its rows, e.g. "
                "flags.reindex(data.features.index, method='ffill').fillna(0)"
            )
    if len(index) == len(expected):
        first = int(np.argmax(index != expected))
        raise InputError(
            f"{what}: the timestamps differ from the dataset's, first at row {first:,} "
            f"({index[first]} instead of {expected[first]})"
        )
    raise InputError(
        f"{what}: {len(index):,} timestamps from {index.min()} to {index.max()}, but "
        f"{target.dataset} has {len(expected):,} from {expected[0]} to {expected[-1]}"
    )


def _span(step: pd.Timedelta) -> str:
    seconds = step.total_seconds()
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


# ---------------------------------------------------------------------------
# Submitting


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


def as_csv(rows: Target, flags: np.ndarray) -> str:
    """The submission file: the dataset's header, then each row's time and flag."""
    lines = (f"{cell},{flag}\n" for cell, flag in zip(rows.cells, flags.tolist(), strict=True))
    return ",".join(rows.columns) + "\n" + "".join(lines)


def read_submission(source: Path | IO[bytes], rows: Target, name: str | None = None) -> np.ndarray:
    """The flags of a submission file, checked against the dataset's rows (InputError
    naming the file and the first problem otherwise, never quoting its contents)."""
    name = name or str(source)
    try:
        table = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError(f"{name}: missing") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError):
        raise InputError(f"{name}: not a CSV file of {','.join(rows.columns)} rows") from None
    header = tuple(str(column).strip() for column in table.columns)
    if header != rows.columns:
        raise InputError(f"{name}: the header must be {','.join(rows.columns)}")
    if len(table) != len(rows.cells):
        raise InputError(f"{name}: {len(table):,} rows, {rows.dataset} has {len(rows.cells):,}")
    times = table.iloc[:, 0].str.strip().to_numpy()
    flags = table.iloc[:, 1].str.strip().to_numpy()
    bad = (times != np.asarray(rows.cells, dtype=object)) | ~np.isin(flags, ["0", "1"])
    if bad.any():
        first = int(np.argmax(bad))
        expected = rows.cells[first]
        raise InputError(f"{name}: line {first + 2} must be {expected},0 or {expected},1")
    return (flags == "1").astype(np.int8)


# ---------------------------------------------------------------------------
# Scoring where labels exist


@dataclass(frozen=True)
class Score:
    """How predictions do against labels; S is the BATADAL competition score (1 is perfect).

    s = (s_ttd + s_cm) / 2; s_ttd rewards early detection, s_cm = (TPR + TNR) / 2.
    event_recall: share of attacks with at least one alarm inside them.
    false_alarms_per_day: alarm segments touching no attack, per day of known data
        (NaN without timestamps). alarm_share: share of known rows flagged.
    """

    s: float
    s_ttd: float
    s_cm: float
    event_recall: float
    false_alarms_per_day: float
    alarm_share: float

    def __repr__(self) -> str:
        return (
            f"Score(S {self.s:.3f} = (S_TTD {self.s_ttd:.3f} + S_CM {self.s_cm:.3f}) / 2, "
            f"events {self.event_recall:.0%}, {self.false_alarms_per_day:.1f} false alarms/day, "
            f"{self.alarm_share:.1%} flagged)"
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "S": self.s,
            "S_TTD": self.s_ttd,
            "S_CM": self.s_cm,
            "event recall": self.event_recall,
            "false alarms/day": self.false_alarms_per_day,
            "flagged": self.alarm_share,
        }


def score(predictions: Any, labels: Any, timestamps: Any = None) -> Score:
    """Score 0/1 `predictions` against `labels` (True inside an attack; <NA> unknown).

    Both one value per row; when both are Series they must share their index. False
    alarms per day need time: `timestamps`, or a DatetimeIndex on labels or predictions.
    """
    from icslab.metrics import batadal_score, event_recall, false_alarms_per_day

    if labels is None:
        raise InputError("no labels to score against: this dataset's labels are hidden")
    s = batadal_score(labels, predictions)
    recall = event_recall(labels, predictions)
    try:
        false = false_alarms_per_day(labels, predictions, timestamps)
    except ValueError:
        false = math.nan
    known = ~pd.Series(labels).isna().to_numpy()
    flags = pd.Series(predictions).to_numpy(dtype=float)[known]
    share = float(flags.mean()) if len(flags) else math.nan
    return Score(s.s, s.s_ttd, s.s_cm, recall, false, share)
