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

AFTER = f"{metrics.RECOVERY / pd.Timedelta('1min'):g} minutes"  # the recovery, in words


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
        if pd.isna(right):
            if not _missing(delay):
                raise Hint("an attack with no alarm inside it has no delay: write None")
            continue
        if _missing(delay):
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


def _missing(delay) -> bool:
    """None, or what pandas writes for a missed attack (<NA>, NaN, NaT)."""
    return delay is None or (np.ndim(delay) == 0 and bool(pd.isna(delay)))


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


def _normal(labels: pd.Series, recovery: bool = True) -> tuple[np.ndarray, float]:
    """Normal minutes (outside each attack and, with `recovery`, the `metrics.RECOVERY`
    after it) and one step in days, as `metrics.false_alarms_per_day` counts them."""
    period = pd.Series(labels.index).diff().median()
    after = int(metrics.RECOVERY / period) if recovery else 0
    normal = ~labels.to_numpy(dtype=bool)
    for first, last in metrics.events(labels):
        normal[first : last + after + 1] = False
    return normal, period / pd.Timedelta(days=1)


@exercise("evaluation.false_alarms_per_day")
def false_alarms_per_day(answer, *, labels, predictions) -> None:
    value = _number(answer, "the answer")
    expected = metrics.false_alarms_per_day(labels, predictions)
    if _close(value, expected, max(0.02 * expected, 1e-6)):
        return
    alarm = np.asarray(predictions, dtype=bool)
    normal, step = _normal(labels)
    false = len(metrics.alarm_segments(alarm & normal))
    normal_days, all_days = normal.sum() * step, len(labels) * step

    def per(count: float, days: float) -> bool:
        """Whether the answer is `count / days`, a figure that differs from the right one."""
        figure = count / days
        wrong = not _close(figure, expected, max(0.02 * expected, 1e-6))
        return wrong and _close(value, figure, 1e-3 * max(1.0, figure))

    if false and _close(value, false, 1e-6):
        raise Hint("that is the number of false alarms: divide it by the days of normal time")
    if per(false, all_days):
        raise Hint(
            "divide by the days of normal time only, not by all the data: leave out the "
            f"attacks and the {AFTER} after each"
        )
    no_recovery, _ = _normal(labels, recovery=False)
    if per(len(metrics.alarm_segments(alarm & no_recovery)), no_recovery.sum() * step):
        raise Hint(
            f"leave the {AFTER} after each attack out of normal time: the plant is still "
            "recovering, alarms then are not false"
        )
    if per(int((alarm & normal).sum()), normal_days):
        raise Hint("count false alarms (runs of consecutive alarmed minutes), not alarmed minutes")
    attack = labels.to_numpy(dtype=bool)
    untouched = sum(
        not attack[start : end + 1].any() for start, end in metrics.alarm_segments(alarm)
    )
    if per(untouched, normal_days) or per(untouched, all_days):
        raise Hint(
            "an alarm that touches an attack is still false where it lies in normal time: "
            "count the alarm segments of `alarms & normal`, not the segments of the alarms"
        )
    if per(len(metrics.alarm_segments(alarm)), normal_days):
        raise Hint("count only the alarms in normal time: those in an attack window are hits")
    raise Hint(
        f"mark normal time (False in each attack and the {AFTER} after it), count the "
        "alarm segments of `alarms & normal` with metrics.alarm_segments, and divide their "
        "number by the days of normal time"
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
