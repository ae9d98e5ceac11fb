"""Self-checks of 07-capstone."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from icslab.checks import Hint, exercise

# An operator follows up a handful of false alarms a day, not dozens. Counted per day of
# normal time (icslab.metrics.false_alarms_per_day), so a standing alarm counts once per
# stretch between attacks: an always-on detector has about 11 a day on the capstone set.
# The budget stays 5: its unit (alarms to chase in a day without an attack) did not change,
# only the count no longer lets a standing alarm hide.
MAX_FALSE_ALARMS_PER_DAY = 5.0
MAX_FLAGGED = 0.5  # in alarm for more than half of the normal time is no detector


def _number(answer, what: str) -> float:
    if hasattr(answer, "s") and not isinstance(answer, int | float):
        raise Hint(f"answer with the number: take the `.s` of the score ({what})")
    if not isinstance(answer, int | float | np.floating) or isinstance(answer, bool):
        raise Hint(f"answer with a number ({what})")
    return float(answer)


@exercise("capstone.always_alarm")
def always_alarm(answer, *, plant) -> None:
    from icslab.metrics import batadal_score

    value = _number(answer, "batadal_score(labels, predictions).s")
    n = len(plant.labels)
    expected = batadal_score(plant.labels, np.ones(n, dtype=bool)).s
    silent = batadal_score(plant.labels, np.zeros(n, dtype=bool)).s
    if math.isclose(value, expected, abs_tol=1e-6):
        return
    if not 0 <= value <= 1:
        raise Hint("S is between 0 and 1: compute it with batadal_score(labels, predictions).s")
    if math.isclose(value, silent, abs_tol=1e-6):
        raise Hint("that is the S of a detector that never alarms: set every prediction to 1")
    raise Hint(
        "predict 1 at every second of the test labels (np.ones(len(test.labels))) and score "
        "those predictions against test.labels"
    )


def _vote_cases(flags: pd.DataFrame) -> list[pd.DataFrame]:
    """The notebook's flags, and a small table holding every combination of 3 blocks."""
    combos = np.array([[(row >> bit) & 1 for bit in range(3)] for row in range(8)])
    index = pd.date_range("2026-01-01", periods=8, freq="10s", tz="UTC")
    return [flags, pd.DataFrame(combos, index=index, columns=["a", "b", "c"])]


@exercise("capstone.vote")
def vote(answer, *, flags) -> None:
    if not callable(answer):
        raise Hint("define a function: def vote(flags, k): return ...")
    for case in _vote_cases(flags):
        for k in range(1, case.shape[1] + 1):
            given = case.copy()
            result = answer(given, k)
            if not given.equals(case):
                raise Hint("vote must not change the flags it is given: compute a new Series")
            if isinstance(result, pd.DataFrame):
                raise Hint("return one value per row (a Series), not a table: sum along each row")
            if not isinstance(result, pd.Series):
                raise Hint("return a pandas Series on the same index as the flags")
            if not result.index.equals(case.index):
                raise Hint("keep the flags' index: one value per row of the table, in order")
            values = pd.to_numeric(result, errors="coerce").astype(float)
            if values.isna().any() or not values.isin([0, 1]).all():
                raise Hint("every value must be 0 or 1 (or True/False)")
            expected = (case.sum(axis=1) >= k).astype(int)
            if not (values.astype(int) == expected).all():
                raise Hint(
                    f"with k={k} some rows are wrong: count the 1s of each row "
                    "(flags.sum(axis=1)) and alarm where that count is at least k"
                )


def _per_second(flags: pd.Series, plant) -> pd.Series:
    return flags.reindex(plant.features.index, method="ffill").fillna(0).astype(int)


def _predictions(answer, plant, what: str) -> pd.Series:
    index = plant.features.index
    if isinstance(answer, pd.DataFrame):
        raise Hint(f"{what} is one column of 0/1 flags (a Series), not a table")
    if not isinstance(answer, pd.Series):
        raise Hint(f"{what} must be a pandas Series with one flag per second of the data")
    if len(answer) < len(index) and len(answer) > 1:
        raise Hint(f"{what} has fewer rows than seconds: bring it back with at_seconds(...)")
    if not answer.index.equals(index):
        raise Hint(f"{what} must be on the data's own index (plant.features.index), in order")
    values = pd.to_numeric(answer, errors="coerce").astype(float)
    if values.isna().any():
        raise Hint(f"{what} has missing values: decide 0 or 1 for every second")
    if not values.isin([0, 1]).all():
        raise Hint(f"{what} must hold 0/1 flags: compare scores with a threshold first")
    return values.astype(int)


def _usable(result) -> bool:
    """In alarm at most half of the normal time, with few enough false alarms to follow up."""
    return (
        result.normal_time_in_alarm <= MAX_FLAGGED
        and result.false_alarms_per_day <= MAX_FALSE_ALARMS_PER_DAY
    )


@exercise("capstone.team_detector")
def team_detector(answer, *, plant, flags) -> None:
    from icslab.capstone import score

    predictions = _predictions(answer, plant, "team_test")
    mine = score(predictions, plant.labels)
    if mine.normal_time_in_alarm > MAX_FLAGGED:
        raise Hint(
            "it is in alarm for more than half of the normal time (outside the attacks): "
            "an operator would switch it off"
        )
    if mine.false_alarms_per_day > MAX_FALSE_ALARMS_PER_DAY:
        raise Hint(
            f"{mine.false_alarms_per_day:.1f} false alarms per day is too many to follow up: "
            "drop the noisiest block, or hold alarms a few minutes so flickers merge"
        )
    singles = [score(_per_second(flags[name], plant), plant.labels) for name in flags]
    best = max((single.s for single in singles if _usable(single)), default=0.0)
    if not mine.s > best:
        raise Hint(
            f"S is {mine.s:.3f}: no better than the best block used alone. Combine blocks "
            "that catch different attacks, and leave out those that alarm in normal operation"
        )


@exercise("capstone.submission")
def submission(answer, *, plant) -> None:
    from icslab.capstone import Submission

    if not isinstance(answer, Submission):
        raise Hint("answer with what submit(capstone_flags, dataset=CAPSTONE) returns")
    name = plant.folder.name
    if answer.dataset != name:
        raise Hint(f"that submission is for {answer.dataset!r}: submit for dataset=CAPSTONE")
    if answer.rows != len(plant.features):
        raise Hint(f"that submission has {answer.rows:,} rows, {name} has {len(plant.features):,}")
    if not answer.alarms:
        raise Hint("it never alarms: a silent detector scores 0.25 whatever happens")
    if answer.alarms / answer.rows > MAX_FLAGGED:
        raise Hint("it flags more than half of the time: submit your tuned team detector")
