"""Self-checks of 06-evaluation: metrics worked out by hand, and a detector that games one.

Every expected value is computed with `icslab.metrics` from the labels and alarms the
notebook passes in.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from icslab import metrics
from icslab.checks import Hint, exercise


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise Hint(f"{what} must be a number")
    if not math.isfinite(value):
        raise Hint(f"{what} must be a finite number")
    return float(value)


def _pair(answer, names: tuple[str, str]) -> tuple[float, float]:
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise Hint(f"answer with two numbers: {names[0]} and {names[1]}")
    return _number(answer[0], names[0]), _number(answer[1], names[1])


def _close(value: float, expected: float, tolerance: float = 0.01) -> bool:
    return abs(value - expected) <= tolerance


@exercise("evaluation.toy_pointwise")
def toy_pointwise(answer, *, labels, alarms) -> None:
    precision, recall = _pair(answer, ("toy_precision", "toy_recall"))
    expected = metrics.pointwise(labels, alarms)
    if _close(precision, expected.recall) and _close(recall, expected.precision):
        raise Hint("precision and recall are swapped")
    events = metrics.event_scores(labels, alarms)
    if _close(precision, events.precision) and _close(recall, events.recall):
        raise Hint("those are event-wise scores: here every step counts, not every attack")
    if not _close(precision, expected.precision):
        raise Hint(
            "precision = alarmed steps inside an attack / all alarmed steps "
            "(a fraction between 0 and 1)"
        )
    if not _close(recall, expected.recall):
        raise Hint(
            "recall = alarmed steps inside an attack / all attack steps "
            "(a fraction between 0 and 1)"
        )


@exercise("evaluation.toy_time_to_detect")
def toy_time_to_detect(answer, *, labels, alarms) -> None:
    expected = metrics.time_to_detect(labels, alarms)
    if not isinstance(answer, list | tuple | np.ndarray | pd.Series):
        raise Hint("answer with a list: one delay per attack, in steps")
    delays = list(answer)
    if len(delays) != len(expected):
        raise Hint("one delay per attack (event), in the order of the attacks")
    for delay, right in zip(delays, expected, strict=True):
        if right is None:
            if delay is not None:
                raise Hint("an attack with no alarm inside it has no delay: write None")
            continue
        if delay is None:
            raise Hint("every attack here has an alarm inside it")
        if _number(delay, "each delay") == right + 1:
            raise Hint(
                "count from the attack's first step: an alarm on that very step is a delay of 0"
            )
        if delay != right:
            raise Hint(
                "the delay is the first alarmed step inside the attack minus the attack's "
                "first step; alarms before the attack do not count"
            )


def _alarms(answer, labels: pd.Series) -> np.ndarray:
    if isinstance(answer, pd.DataFrame):
        raise Hint("answer with one column: a boolean Series like `labels`")
    if isinstance(answer, pd.Series) and not answer.index.equals(labels.index):
        raise Hint("use the same index as `labels`: one value per minute of the test period")
    values = np.asarray(answer)
    if values.ndim != 1 or len(values) != len(labels):
        raise Hint("answer with one value per minute of the test period, like `labels`")
    if pd.isna(values).any():
        raise Hint("the alarms have missing values: use True/False everywhere")
    if values.dtype != bool and not np.isin(values, (0, 1)).all():
        raise Hint("the alarms must be True/False (or 1/0)")
    return values.astype(bool)


@exercise("evaluation.one_alarm_per_event")
def one_alarm_per_event(answer, *, labels) -> None:
    alarms = _alarms(answer, labels)
    if (alarms & ~labels.to_numpy(dtype=bool)).any():
        raise Hint("some alarms fall outside the attacks: alarm only inside them")
    counts = [int(alarms[start : end + 1].sum()) for start, end in metrics.events(labels)]
    if 0 in counts:
        raise Hint("some attacks have no alarm: put one alarmed minute inside each")
    if max(counts, default=0) > 1:
        raise Hint("exactly one alarmed minute per attack, not more")


def _days(labels: pd.Series) -> float:
    """The monitored time, as `metrics.false_alarms_per_day` counts it."""
    period = pd.Series(labels.index).diff().median()
    return len(labels) * period / pd.Timedelta(days=1)


@exercise("evaluation.false_alarms_per_day")
def false_alarms_per_day(answer, *, labels, predictions) -> None:
    value = _number(answer, "the answer")
    expected = metrics.false_alarms_per_day(labels, predictions)
    if _close(value, expected, max(0.02 * expected, 1e-6)):
        return
    days = _days(labels)
    attack = labels.to_numpy(dtype=bool)
    alarm = np.asarray(predictions, dtype=bool)
    segments = metrics.alarm_segments(alarm)
    false = [(start, end) for start, end in segments if not attack[start : end + 1].any()]
    false_minutes = int((alarm & ~attack).sum())
    if len(false) and _close(value, len(false), 1e-6):
        raise Hint("that is the number of false alarms: divide it by the number of days")
    if false_minutes != len(false) and _close(value, false_minutes / days, 1e-3):
        raise Hint(
            "count alarm segments (runs of consecutive alarmed minutes), not alarmed minutes"
        )
    if len(segments) != len(false) and _close(value, len(segments) / days, 1e-3):
        raise Hint("count only the alarm segments that overlap no attack")
    raise Hint(
        "list the alarm segments with metrics.alarm_segments, keep those that overlap no "
        "attack, and divide their number by the days of data"
    )


@exercise("evaluation.batadal_parts")
def batadal_parts(answer, *, labels, predictions) -> None:
    s_ttd, s_cm = _pair(answer, ("s_ttd", "s_cm"))
    expected = metrics.batadal_score(labels, predictions)
    if _close(s_ttd, expected.s_cm, 1e-3) and _close(s_cm, expected.s_ttd, 1e-3):
        raise Hint("s_ttd and s_cm are swapped")
    if not _close(s_ttd, expected.s_ttd, 1e-3):
        ratios = [
            ttd / duration for ttd, duration in zip(expected.ttd, expected.durations, strict=True)
        ]
        found = [
            r for r, t, d in zip(ratios, expected.ttd, expected.durations, strict=True) if t < d
        ]
        if found and _close(s_ttd, 1 - float(np.mean(found)), 1e-3):
            raise Hint("an undetected attack counts too, with a delay equal to its duration")
        raise Hint("s_ttd = 1 - the mean over attacks of (delay / duration), both in steps")
    attack = labels.to_numpy(dtype=bool)
    alarm = np.asarray(predictions, dtype=bool)
    if _close(s_cm, float(np.mean(attack == alarm)), 1e-3) and not _close(
        s_cm, expected.s_cm, 1e-3
    ):
        raise Hint(
            "that is the accuracy: s_cm is the mean of the true positive and true negative rates"
        )
    if not _close(s_cm, expected.s_cm, 1e-3):
        raise Hint("s_cm = (TPR + TNR) / 2: TPR over attack steps, TNR over normal steps")
