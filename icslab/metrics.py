"""Scoring attack detectors on labelled telemetry: point-wise, event-wise and time-aware.

Inputs
------
Every metric takes two sequences of the same length, one value per time step:

``labels``
    True inside an attack, False outside. A bool or 0/1 NumPy array, a list, or
    a pandas Series. Unknown steps are allowed as ``<NA>``/``None``/``NaN`` (the
    nullable ``"boolean"`` labels of ``icslab.data.load_batadal``: BATADAL's
    ``-999``). Raw ``-999`` codes are refused: they mean "unknown", not "attack".
``predictions``
    True where the detector raises an alarm. Bool or 0/1; no missing values.

When both are pandas Series they must share the same index (a detector that
dropped or shifted rows is refused rather than silently misaligned). Steps are
*positions* 0..n-1, whatever the index holds.

Where wall-clock time matters (`time_to_detect`, `false_alarms_per_day`,
`normal_time_in_alarm`), the time of each step comes from the ``timestamps=``
argument if given, otherwise from the ``DatetimeIndex`` of ``labels``, otherwise
from that of ``predictions``.

Vocabulary
----------
event
    an attack: a maximal run of consecutive True labels, as ``(start, end)``
    positions with ``end`` *inclusive* (see `events`).
alarm segment
    a maximal run of consecutive alarms, same convention (see `alarm_segments`).
attack window, normal time
    an attack window runs from an attack's first step to its last plus a
    recovery time (`RECOVERY`, 30 minutes, unless told otherwise) in which the
    process may still look abnormal; normal time is every known step outside
    every attack window. False alarms (`false_alarms_per_day`) and the time in
    alarm (`normal_time_in_alarm`) are counted in normal time only.

Conventions
-----------
* 0/0 is 0.0 for every precision, recall and F1 here (like scikit-learn's
  ``zero_division=0``): precision is 0 when there is no alarm, recall is 0 when
  there is no attack, F1 is 0 when precision + recall is 0. "No evidence of
  skill" scores 0, so a leaderboard can always sort.
* Unknown labels are left out, never guessed: an unknown step is never part of
  an event (it ends one), is not counted as a true/false positive/negative,
  alarms raised at unknown steps are ignored (neither hits nor false alarms),
  and unknown time is not normal time in `false_alarms_per_day` and
  `normal_time_in_alarm`.
* `time_to_detect` returns one type: Timedeltas with NaT for a missed attack
  (or steps with <NA>), so ``.median()`` and plots work.
* `BatadalScore` fields are NaN where the competition formula is undefined (no
  attack, or no known normal step), because any number there would be invented.

Functions
---------
`events`, `alarm_segments`, `pointwise`, `event_recall`, `event_precision`,
`event_scores`, `time_to_detect`, `false_alarms_per_day`, `normal_time_in_alarm`,
`point_adjust`, `point_adjusted`, `point_adjusted_f1`, `etapr`, `batadal_score`.

Example
-------
>>> import numpy as np
>>> labels = np.array([0, 0, 1, 1, 1, 1, 0, 0, 1, 1], dtype=bool)
>>> alarms = np.array([0, 1, 1, 1, 0, 0, 0, 0, 0, 1], dtype=bool)
>>> events(labels)
[(2, 5), (8, 9)]
>>> pointwise(labels, alarms)
Scores(precision=0.75, recall=0.5, f1=0.6)
>>> event_recall(labels, alarms), event_precision(labels, alarms)
(1.0, 1.0)
>>> time_to_detect(labels, alarms).tolist()
[0, 1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BatadalScore",
    "ETaPR",
    "Scores",
    "alarm_segments",
    "batadal_score",
    "etapr",
    "event_precision",
    "event_recall",
    "event_scores",
    "events",
    "false_alarms_per_day",
    "normal_time_in_alarm",
    "point_adjust",
    "point_adjusted",
    "point_adjusted_f1",
    "pointwise",
    "time_to_detect",
]

Segment = tuple[int, int]
ONE_DAY = pd.Timedelta(days=1)
TOLERANCE = 1e-9  # eTaPR: a covered share this close below a threshold reaches it


# ---------------------------------------------------------------------------
# Result types


@dataclass(frozen=True)
class Scores:
    """Precision, recall and their harmonic mean F1 (all 0.0 when undefined)."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class ETaPR:
    """Enhanced time-series aware precision and recall (see `etapr`).

    precision, recall, f1: eTaP, eTaR and their harmonic mean.
    precision_detection, precision_portion: the two parts of eTaP (sqrt-length
        weighted share of correct alarm segments; weighted mean covered share).
    recall_detection, recall_portion: the two parts of eTaR (share of detected
        events; mean covered share of each event, capped at 1).
    detected_events: the events counted as detected, as (start, end) positions.
    correct_alarms: the alarm segments counted as correct, as (start, end).
    n_events, n_alarms: how many events and alarm segments there were.
    """

    precision: float
    recall: float
    f1: float
    precision_detection: float
    precision_portion: float
    recall_detection: float
    recall_portion: float
    detected_events: tuple[Segment, ...]
    correct_alarms: tuple[Segment, ...]
    n_events: int
    n_alarms: int


@dataclass(frozen=True)
class BatadalScore:
    """The BATADAL competition score (see `batadal_score`).

    s: 0.5 * s_ttd + 0.5 * s_cm, the ranking score (1 is perfect).
    s_ttd: 1 - mean(ttd / duration) over attacks.
    s_cm: (tpr + tnr) / 2 over known steps.
    tpr, tnr: true positive and true negative rates over known steps.
    ttd: per attack, steps from its first step to its first alarm (its duration
        when never detected).
    durations: per attack, its length in steps.
    Fields are NaN where undefined: tpr and s_ttd without attacks, tnr without
    known normal steps, and s whenever one of its parts is NaN.
    """

    s: float
    s_ttd: float
    s_cm: float
    tpr: float
    tnr: float
    ttd: tuple[int, ...]
    durations: tuple[int, ...]


# ---------------------------------------------------------------------------
# Input handling


def _values(data: Any, what: str) -> np.ndarray:
    """1-D float array of 0/1/NaN from any sequence of booleans, 0/1 or missing values."""
    if isinstance(data, pd.DataFrame):
        raise ValueError(f"{what} must be one column (a Series), not a DataFrame")
    if not isinstance(data, pd.Series):
        data = np.asarray(data)
        if data.ndim != 1:
            raise ValueError(f"{what} must be one-dimensional, got shape {data.shape}")
    try:
        if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
            values = data.astype(float)  # the fast path: bool, int or float arrays
        else:  # Series (nullable "boolean" too) and object arrays holding None
            values = pd.Series(data).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must hold True/False (or 1/0): {error}") from error
    known = ~np.isnan(values)
    bad = known & (values != 0) & (values != 1)
    if bad.any():
        step = int(np.argmax(bad))
        hint = ""
        if values[step] == -999:
            hint = (
                "; BATADAL's -999 means 'unknown': load the file with "
                "icslab.data.load_batadal, which turns it into <NA>"
            )
        raise ValueError(
            f"{what} must hold True/False (or 1/0); {int(bad.sum())} steps do not, "
            f"first {values[step]:g} at step {step}{hint}"
        )
    return values


def _inputs(labels: Any, predictions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(attack, known, alarm) boolean arrays; alarms at unknown steps are dropped."""
    label_values = _values(labels, "labels")
    alarm_values = _values(predictions, "predictions")
    if len(label_values) != len(alarm_values):
        raise ValueError(
            f"labels and predictions differ in length: {len(label_values)} and {len(alarm_values)}"
        )
    if (
        isinstance(labels, pd.Series)
        and isinstance(predictions, pd.Series)
        and not labels.index.equals(predictions.index)
    ):
        raise ValueError(
            "labels and predictions have different indexes: align them first "
            "(e.g. predictions.reindex(labels.index, fill_value=False))"
        )
    missing = np.isnan(alarm_values)
    if missing.any():
        raise ValueError(
            f"predictions must be True/False at every step; {int(missing.sum())} are missing, "
            f"first at step {int(np.argmax(missing))}"
        )
    known = ~np.isnan(label_values)
    attack = label_values == 1  # NaN compares False: unknown is never attack
    alarm = (alarm_values == 1) & known
    return attack, known, alarm


def _time_index(timestamps: Any, labels: Any, predictions: Any, n: int) -> pd.DatetimeIndex | None:
    """The time of each step: `timestamps`, else a DatetimeIndex of labels or predictions."""
    if timestamps is None:
        for data in (labels, predictions):
            if isinstance(data, pd.Series) and isinstance(data.index, pd.DatetimeIndex):
                timestamps = data.index
                break
        else:
            return None
    try:
        index = pd.DatetimeIndex(timestamps)
    except (TypeError, ValueError) as error:
        raise ValueError(f"timestamps must be date-times: {error}") from error
    if len(index) != n:
        raise ValueError(f"{len(index)} timestamps for {n} steps")
    if index.hasnans:
        raise ValueError("timestamps must not be missing (NaT)")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError("timestamps must be strictly increasing")
    return index


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and inclusive end positions of the maximal runs of True in `mask`."""
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def _counts_in(mask: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many True steps of `mask` fall in each [start, end] (inclusive)."""
    cumulative = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
    return cumulative[ends + 1] - cumulative[starts]


def _as_segments(starts: np.ndarray, ends: np.ndarray) -> list[Segment]:
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


# ---------------------------------------------------------------------------
# Events and alarm segments


def events(labels: Any) -> list[Segment]:
    """The attacks in `labels`: maximal runs of True, as (start, end) positions, end inclusive.

    Unknown (<NA>) steps are never part of an attack, so one ends an event.

    >>> events([0, 1, 1, 0, 0, 1, 0, 1, 1, 1])
    [(1, 2), (5, 5), (7, 9)]
    """
    return _as_segments(*_runs(_values(labels, "labels") == 1))


def alarm_segments(predictions: Any) -> list[Segment]:
    """The alarm segments in `predictions`: maximal runs of True, (start, end) inclusive.

    >>> alarm_segments([1, 1, 0, 1])
    [(0, 1), (3, 3)]
    """
    values = _values(predictions, "predictions")
    if np.isnan(values).any():
        raise ValueError("predictions must be True/False at every step")
    return _as_segments(*_runs(values == 1))


# ---------------------------------------------------------------------------
# Point-wise and event-wise scores


def _confusion(attack: np.ndarray, known: np.ndarray, alarm: np.ndarray) -> tuple[int, ...]:
    """(tp, fp, fn, tn) over known steps."""
    tp = int(np.count_nonzero(attack & alarm))
    fp = int(np.count_nonzero(~attack & alarm & known))
    fn = int(np.count_nonzero(attack & ~alarm))
    tn = int(np.count_nonzero(~attack & ~alarm & known))
    return tp, fp, fn, tn


def _scores(attack: np.ndarray, known: np.ndarray, alarm: np.ndarray) -> Scores:
    tp, fp, fn, _ = _confusion(attack, known, alarm)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return Scores(precision, recall, _f1(precision, recall))


def pointwise(labels: Any, predictions: Any) -> Scores:
    """Point-wise precision, recall and F1: every time step is one sample.

    precision = TP / (TP + FP): the share of alarmed steps that are in an attack.
    recall = TP / (TP + FN): the share of attack steps that are alarmed.
    0 when the denominator is 0 (no alarm / no attack). Unknown steps are left out.

    It rewards long attacks over short ones and never asks *whether* each attack
    was caught: see `event_scores`, `etapr` and `batadal_score` for that.

    >>> pointwise([0, 1, 1, 1], [1, 1, 0, 0])
    Scores(precision=0.5, recall=0.3333333333333333, f1=0.4)
    """
    return _scores(*_inputs(labels, predictions))


def _detected(attack: np.ndarray, alarm: np.ndarray) -> tuple[np.ndarray, ...]:
    """Event starts, ends and whether each event holds at least one alarm."""
    starts, ends = _runs(attack)
    return starts, ends, _counts_in(alarm, starts, ends) > 0


def event_recall(labels: Any, predictions: Any) -> float:
    """The share of attacks (events) with at least one alarm inside them.

    One alarm step anywhere in an event detects it; an alarm just before or
    just after the event does not. 0.0 when there is no event.

    >>> event_recall([0, 1, 1, 0, 1, 1], [0, 0, 1, 0, 0, 0])
    0.5
    """
    attack, _, alarm = _inputs(labels, predictions)
    _, _, hit = _detected(attack, alarm)
    return _ratio(int(np.count_nonzero(hit)), len(hit))


def event_precision(labels: Any, predictions: Any) -> float:
    """The share of alarm segments that overlap at least one attack (event).

    An alarm segment is a maximal run of consecutive alarms; it counts as true if
    any of its steps lies inside an attack. 0.0 when there is no alarm.

    >>> event_precision([0, 1, 1, 0, 0, 0], [1, 1, 0, 0, 1, 0])
    0.5
    """
    attack, _, alarm = _inputs(labels, predictions)
    starts, ends = _runs(alarm)
    return _ratio(int(np.count_nonzero(_counts_in(attack, starts, ends))), len(starts))


def event_scores(labels: Any, predictions: Any) -> Scores:
    """`event_precision`, `event_recall` and their harmonic mean, in one `Scores`."""
    precision = event_precision(labels, predictions)
    recall = event_recall(labels, predictions)
    return Scores(precision, recall, _f1(precision, recall))


# ---------------------------------------------------------------------------
# Time


def time_to_detect(labels: Any, predictions: Any, timestamps: Any = None) -> pd.Series:
    """Per attack (in order), the delay from its first step to its first alarm inside it.

    One row per attack (index 0, 1, ...), one type throughout, so ``.median()``,
    ``.describe()`` and plots work directly:

    * with a time index (the `timestamps` argument, or a DatetimeIndex on `labels`
      or `predictions`), Timedeltas, ``NaT`` for an attack with no alarm inside it;
    * otherwise a number of steps (nullable ``Int64``), ``<NA>`` for a missed attack.

    An alarm on the attack's first step - or one already on when the attack
    starts - gives a delay of 0. Test for a missed attack with ``pd.isna(delay)``.

    >>> time_to_detect([0, 1, 1, 1, 0, 1, 1], [0, 0, 0, 1, 0, 0, 0]).tolist()
    [2, <NA>]
    """
    attack, _, alarm = _inputs(labels, predictions)
    index = _time_index(timestamps, labels, predictions, len(attack))
    starts, ends = _runs(attack)
    alarm_steps = np.flatnonzero(alarm)
    first = np.append(alarm_steps, len(attack))[np.searchsorted(alarm_steps, starts)]
    missed = first > ends
    first = np.where(missed, starts, first)  # any valid step; masked below
    if index is None:
        delays = pd.array(first - starts, dtype="Int64")
        delays[missed] = pd.NA
        return pd.Series(delays, name="time_to_detect")
    delays = pd.Series(index[first] - index[starts], name="time_to_detect")
    delays[missed] = pd.NaT
    return delays


RECOVERY = pd.Timedelta(minutes=30)


def _recovery_steps(
    ends: np.ndarray, index: pd.DatetimeIndex | None, recovery: Any, n: int
) -> np.ndarray:
    """The last step of each attack window [start, end + recovery], capped at n - 1."""
    if recovery is None:
        recovery = RECOVERY if index is not None else 0
    if isinstance(recovery, int | np.integer) and not isinstance(recovery, bool):
        if recovery < 0:
            raise ValueError(f"recovery must not be negative, got {recovery} steps")
        return np.minimum(ends + int(recovery), n - 1)
    try:
        duration = pd.Timedelta(recovery)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"recovery must be a duration (e.g. '15min') or a number of steps: {error}"
        ) from error
    if pd.isna(duration) or duration < pd.Timedelta(0):
        raise ValueError(f"recovery must be a duration of zero or more, got {recovery!r}")
    if index is None:
        raise ValueError(
            "a recovery given as a duration needs time: pass timestamps=..., labels as "
            "a Series with a DatetimeIndex, or recovery as a number of steps"
        )
    return index.searchsorted(index[ends] + duration, side="right") - 1


def _normal_time(
    labels: Any, predictions: Any, timestamps: Any, recovery: Any
) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex | None]:
    """(normal, alarm, time index): normal steps are known steps outside every attack
    window, an attack and the `recovery` after it."""
    attack, known, alarm = _inputs(labels, predictions)
    n = len(attack)
    index = _time_index(timestamps, labels, predictions, n)
    starts, ends = _runs(attack)
    window_ends = _recovery_steps(ends, index, recovery, n)
    inside = np.zeros(n + 1, dtype=np.int64)
    np.add.at(inside, starts, 1)
    np.add.at(inside, window_ends + 1, -1)
    normal = known & (np.cumsum(inside[:n]) == 0)
    return normal, alarm, index


def false_alarms_per_day(
    labels: Any, predictions: Any, timestamps: Any = None, recovery: Any = None
) -> float:
    """False alarms per day of normal time: what an operator would chase for nothing.

    Normal time is every known step outside the attack windows; an attack window
    runs from an attack's first step to its last step plus `recovery` (default
    `RECOVERY`, 30 minutes: the process may still look abnormal while it settles,
    so alarms then are neither hits nor false). `recovery` is a duration
    ('5min', a Timedelta) or an int number of steps.

    A false alarm is a maximal run of alarms within normal time. A standing alarm
    is thus cut at every attack window: each stretch of normal time it covers is
    one false alarm (an alarm left on for the whole recording raises one false
    alarm per stretch between attacks, not zero), and an alarm raised before an
    attack starts is a false alarm (nothing was happening yet), as is one still
    on after the recovery. Read it with `normal_time_in_alarm`: one alarm that
    never clears is one false alarm per stretch but 100% of the normal time.

    Days of normal time = normal steps times the sampling period (the median gap
    between timestamps), so gaps between recordings, unknown steps and attack
    windows are not counted. Needs a time index: `timestamps`, or a DatetimeIndex
    on `labels`/`predictions`. ValueError when there is no normal time.

    >>> hours = pd.date_range("2026-01-01", periods=52, freq="h")  # 48 normal hours
    >>> attack = pd.Series([0] * 10 + [1] * 4 + [0] * 38, index=hours)
    >>> false_alarms_per_day(attack, [1] * 52)  # on before and after the attack: 2 in 2 days
    1.0
    """
    normal, alarm, index = _normal_time(labels, predictions, timestamps, recovery)
    if index is None:
        raise ValueError(
            "false_alarms_per_day needs time: pass timestamps=..., or labels "
            "as a Series with a DatetimeIndex"
        )
    if len(index) < 2:
        raise ValueError("false_alarms_per_day needs at least two timestamps")
    period = (index[1:] - index[:-1]).median()  # a Timedelta, whatever the resolution
    days = np.count_nonzero(normal) * period / ONE_DAY
    if not days:
        raise ValueError(
            "no normal time: every step is unknown or inside an attack and its recovery"
        )
    false = len(_runs(alarm & normal)[0])
    return float(false / days)


def normal_time_in_alarm(
    labels: Any, predictions: Any, timestamps: Any = None, recovery: Any = None
) -> float:
    """The fraction of normal time the detector spends in alarm, 0 (never) to 1 (always).

    Normal steps as in `false_alarms_per_day` (known, outside every attack and
    its `recovery`); here `recovery` is needed in steps (an int) when the data
    carry no time, and defaults to 0 steps then. NaN when there is no normal
    step: any number would be invented.

    An alarm that never stops scores 1.0 whatever its false alarms per day.

    >>> round(normal_time_in_alarm([0, 0, 1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0, 0]), 3)
    0.333
    >>> normal_time_in_alarm([0, 0, 1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0, 0], recovery=1)
    0.2
    """
    normal, alarm, _ = _normal_time(labels, predictions, timestamps, recovery)
    total = np.count_nonzero(normal)
    return float(np.count_nonzero(alarm & normal) / total) if total else math.nan


# ---------------------------------------------------------------------------
# Point adjustment


def point_adjust(labels: Any, predictions: Any) -> np.ndarray:
    """Predictions after the "point-adjust" protocol, as a new bool array.

    Every attack with at least one alarm inside it is marked alarmed from its
    first to its last step; everything else is left as it was (alarms at
    unknown steps are dropped). Useful to plot what `point_adjusted` scores.
    """
    attack, _, alarm = _inputs(labels, predictions)
    adjusted = alarm.copy()
    starts, ends, hit = _detected(attack, alarm)
    for start, end in zip(starts[hit], ends[hit], strict=True):
        adjusted[start : end + 1] = True
    return adjusted


def point_adjusted(labels: Any, predictions: Any) -> Scores:
    """Point-wise scores after point adjustment (PA): a popular, flattering protocol.

    If any step of an attack is alarmed, *all* its steps count as detected, then
    precision/recall/F1 are computed point-wise (see `point_adjust`). One lucky
    alarm in a long attack earns the whole attack, so a detector raising random
    alarms scores high on datasets with long attacks - which is why papers that
    report only PA-F1 overrate their detectors. Compare with `pointwise` and `etapr`.

    >>> point_adjusted([0, 1, 1, 1, 1, 0], [0, 0, 1, 0, 0, 0])
    Scores(precision=1.0, recall=1.0, f1=1.0)
    """
    attack, known, _ = _inputs(labels, predictions)
    return _scores(attack, known, point_adjust(labels, predictions))


def point_adjusted_f1(labels: Any, predictions: Any) -> float:
    """F1 after point adjustment: `point_adjusted(labels, predictions).f1`."""
    return point_adjusted(labels, predictions).f1


# ---------------------------------------------------------------------------
# eTaPR


def _ambiguous(
    starts: np.ndarray, ends: np.ndarray, delta: float, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ambiguous section after each event and the per-step weight inside it.

    Section i spans [end_i + 1, end_i + 1 + int(delta * (end_i - start_i))], cut
    before the next event; steps get the decaying weight 1 / (1 + exp(x)), x
    going linearly from -6 at its first step to +6 at its last. Sections of
    fewer than two steps are dropped (as in the reference implementation).
    """
    weights = np.zeros(n)
    first = ends + 1
    last = first + (delta * (ends - starts)).astype(np.int64)
    last[:-1] = np.minimum(last[:-1], starts[1:] - 1)
    used = last > first
    for a, b in zip(first[used], last[used], strict=True):
        steps = np.arange(a, min(b, n - 1) + 1)
        weights[steps] = 1.0 / (1.0 + np.exp(-6.0 + 12.0 * (steps - a) / (b - a)))
    first[~used], last[~used] = -1, -2  # empty
    return first, last, weights


def etapr(
    labels: Any,
    predictions: Any,
    theta_p: float = 0.5,
    theta_r: float = 0.1,
    delta: float = 0.0,
) -> ETaPR:
    """Enhanced time-series aware precision and recall (eTaPR) of Hwang et al. 2022.

    Designed by the HAI dataset's authors ("Do you know existing accuracy metrics
    overrate time-series anomaly detections?", ACM SAC 2022) so that neither a
    few lucky alarms (point-adjust) nor one endless alarm scores well:

    1. Overlap: each event is scored against each alarm segment by the number of
       steps they share (plus, when ``delta`` > 0, a decaying credit for alarms in
       the "ambiguous" section just after the event, which lasts ``delta`` times
       the event's length: a process may stay abnormal after the attack stops).
    2. Pruning, repeated until nothing changes: an event covered by less than
       ``theta_r`` of its length is not detected, and its overlaps are dropped;
       an alarm segment less than ``theta_p`` of which lies in (still counted)
       events is not correct, and its overlaps are dropped.
    3. Recall eTaR = mean over events of (d + d * p) / 2, where d is 1 if the event
       is detected (covered share >= ``theta_r``) and p is its covered share.
    4. Precision eTaP = the same over alarm segments (d: correct, covered share
       >= ``theta_p``; p: the share of the segment inside events), each segment
       weighted by the square root of its length.
    5. F1 = 2 * eTaP * eTaR / (eTaP + eTaR).

    Returns an `ETaPR` with the scores, their detection/portion parts, and which
    events were detected and which alarm segments were correct. Every score is 0
    when there is no event or no alarm. Unknown label steps are never part of
    an event, and alarms on them are ignored.

    Follows the authors' reference implementation (eTaPR_pkg, whose ``delta`` is
    this one) with three deliberate differences at the edges:

    * with ``theta_r`` or ``theta_p`` = 0, an event or alarm segment still needs
      some overlap to count (the reference counts every event as detected);
    * an ambiguous section always stops before the next event (the reference
      lets it share that event's first step when it ends exactly there);
    * a covered share within 1e-9 below a threshold reaches it, so a tie such
      as 4.5/9 against theta 0.5 is not decided by floating-point rounding.

    >>> labels = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    >>> alarms = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    >>> r = etapr(labels, alarms)  # event (2, 11): 2 of 10 steps; alarms: 2 of 4 in it
    >>> round(r.recall, 3), round(r.precision, 3)  # (1 + 0.2)/2, (1 + 0.5)/2
    (0.6, 0.75)
    """
    for name, value in (("theta_p", theta_p), ("theta_r", theta_r), ("delta", delta)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    attack, _, alarm = _inputs(labels, predictions)
    a_start, a_end = _runs(attack)
    p_start, p_end = _runs(alarm)
    n_a, n_p = len(a_start), len(p_start)
    if n_a == 0 or n_p == 0:
        return ETaPR(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, (), (), n_a, n_p)

    amb_first, amb_last, amb_weight = _ambiguous(a_start, a_end, delta, len(attack))
    # Pairs (event i, alarm segment j) that may overlap: segment j intersects
    # [start_i, last step of the event or its ambiguous section].
    reach = np.maximum(a_end, amb_last)
    lo = np.searchsorted(p_end, a_start, side="left")
    hi = np.searchsorted(p_start, reach, side="right")
    counts = np.maximum(hi - lo, 0)
    i = np.repeat(np.arange(n_a), counts)
    j = (
        np.repeat(lo, counts)
        + np.arange(counts.sum())
        - np.repeat(np.cumsum(counts) - counts, counts)
    )

    shared = np.minimum(a_end[i], p_end[j]) - np.maximum(a_start[i], p_start[j]) + 1
    score = np.maximum(shared, 0).astype(float)
    lo_step = np.maximum(amb_first[i], p_start[j])
    hi_step = np.minimum(np.minimum(amb_last[i], p_end[j]), len(attack) - 1)
    in_ambiguous = (amb_first[i] >= 0) & (lo_step <= hi_step)
    if in_ambiguous.any():
        # Sum each slice of weights on its own, not as a difference of running sums.
        bounds = np.column_stack((lo_step[in_ambiguous], hi_step[in_ambiguous] + 1)).ravel()
        score[in_ambiguous] += np.add.reduceat(np.append(amb_weight, 0.0), bounds)[::2]

    a_len = (a_end - a_start + 1).astype(float)
    p_len = (p_end - p_start + 1).astype(float)
    # Shares within TOLERANCE below a threshold reach it: the weights of an
    # ambiguous section are symmetric, and rounding must not decide a tie.
    reach_r, reach_p = theta_r - TOLERANCE, theta_p - TOLERANCE
    kept = score > 0
    while True:
        covered = np.bincount(i[kept], weights=score[kept], minlength=n_a) / a_len
        drop_events = (covered > 0) & (covered < reach_r)
        kept &= ~drop_events[i]
        inside = np.bincount(j[kept], weights=score[kept], minlength=n_p) / p_len
        drop_alarms = (inside > 0) & (inside < reach_p)
        kept &= ~drop_alarms[j]
        if not drop_events.any() and not drop_alarms.any():
            break
    # After pruning every covered share is 0 or at least its threshold.
    recall_portion = np.minimum(covered, 1.0)
    detected = (covered > 0) & (covered >= reach_r)
    precision_portion = np.minimum(inside, 1.0)
    correct = (inside > 0) & (inside >= reach_p)
    weight = np.sqrt(p_len)  # longer alarm segments count more, but less than linearly

    def weighted_mean(values: np.ndarray) -> float:
        return float(np.sum(weight * values) / np.sum(weight))

    recall = float(np.mean(detected * (1 + recall_portion) / 2))
    precision = weighted_mean(correct * (1 + precision_portion) / 2)
    return ETaPR(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        precision_detection=weighted_mean(correct),
        precision_portion=weighted_mean(precision_portion),
        recall_detection=float(np.mean(detected)),
        recall_portion=float(np.mean(recall_portion)),
        detected_events=tuple(_as_segments(a_start[detected], a_end[detected])),
        correct_alarms=tuple(_as_segments(p_start[correct], p_end[correct])),
        n_events=n_a,
        n_alarms=n_p,
    )


# ---------------------------------------------------------------------------
# BATADAL


def batadal_score(labels: Any, predictions: Any) -> BatadalScore:
    """The BATADAL competition score (Taormina et al. 2018), 1 is perfect.

    S = 0.5 * S_TTD + 0.5 * S_CM, where

    * S_TTD = 1 - mean over attacks of TTD_i / duration_i. TTD_i is counted in
      steps (hours in BATADAL) from the attack's first step to the first alarm
      inside it: 0 if the first step is alarmed, duration_i - 1 if only the last
      one is, and duration_i if none is. duration_i is the attack's length in steps.
    * S_CM = (TPR + TNR) / 2, the true positive and true negative rates over the
      steps.

    Unknown label steps (<NA>, BATADAL's -999) are left out: they are never
    part of an attack (one splits an attack in two), do not count in TPR/TNR,
    and alarms on them are ignored. TPR and S_TTD are NaN when there is no
    attack, TNR when there is no known normal step (all of BATADAL dataset04's
    normal hours are unknown), and S is then NaN: the score needs both.

    Note that an alarm raised at every step scores S = 0.75 (S_TTD = 1, S_CM = 0.5)
    while a silent detector scores 0.25.

    >>> batadal_score([0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 0, 0]).s  # 0.5*(1-1/2) + 0.5*(1/2+1)/2
    0.625
    """
    attack, known, alarm = _inputs(labels, predictions)
    starts, ends = _runs(attack)
    durations = ends - starts + 1
    alarm_steps = np.flatnonzero(alarm)
    first = np.append(alarm_steps, len(attack))[np.searchsorted(alarm_steps, starts)]
    ttd = np.where(first <= ends, first - starts, durations)
    tp, fp, fn, tn = _confusion(attack, known, alarm)
    tpr = tp / (tp + fn) if tp + fn else math.nan
    tnr = tn / (tn + fp) if tn + fp else math.nan
    s_ttd = float(1 - np.mean(ttd / durations)) if len(starts) else math.nan
    s_cm = (tpr + tnr) / 2
    return BatadalScore(
        s=0.5 * s_ttd + 0.5 * s_cm,
        s_ttd=s_ttd,
        s_cm=s_cm,
        tpr=tpr,
        tnr=tnr,
        ttd=tuple(int(t) for t in ttd),
        durations=tuple(int(d) for d in durations),
    )
