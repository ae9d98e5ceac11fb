"""Self-checks of 04-machine-learning."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from icslab import metrics
from icslab.checks import Hint, exercise

QUANTILE = 0.99  # exercise 1: 1 % of the training minutes above the threshold
F1_TOLERANCE = 0.15  # exercise 4: other forests (seeds, sizes) give somewhat other F1s


def _number(answer, what: str) -> float:
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real | np.ndarray):
        raise Hint(f"answer with {what} (a number)")
    if isinstance(answer, np.ndarray) and answer.ndim != 0:
        raise Hint(f"answer with {what}: one number, not an array")
    value = float(answer)
    if not np.isfinite(value):
        raise Hint(f"answer with {what}: a finite number")
    return value


def _near_quantile(value: float, scores, quantile: float) -> bool:
    """Within the quantiles just around `quantile`: any interpolation method passes."""
    scores = np.asarray(scores, dtype=float)
    slack = max(0.001, 2 / len(scores))  # two rows either side
    low, high = np.quantile(scores, [max(0.0, quantile - slack), min(1.0, quantile + slack)])
    return low - 1e-9 <= value <= high + 1e-9


@exercise("ml.threshold")
def threshold(answer, *, train_scores, test_scores) -> None:
    value = _number(answer, "a threshold on the forest's score")
    if _near_quantile(value, train_scores, QUANTILE):
        return
    if _near_quantile(value, test_scores, QUANTILE):
        raise Hint(
            "that threshold comes from the test scores: a threshold may only use the "
            "training week (`train_scores`)"
        )
    if _near_quantile(value, train_scores, 1 - QUANTILE):
        raise Hint("higher scores are more unusual: the threshold sits near the top of them")
    raise Hint("take the quantile of `train_scores` that leaves 1 % of them above it")


@exercise("ml.top_tag")
def top_tag(answer, *, components: pd.DataFrame, attack) -> None:
    if not isinstance(answer, str):
        raise Hint('answer with the tag name as a string, for example "LIT101"')
    if answer.strip() not in components.columns:
        raise Hint("answer with one of the tags, a column name of `components`")
    share = components.loc[attack["start"] : attack["end"]].mean()
    if share[answer.strip()] < 0.95 * share.max():
        raise Hint(
            "keep only the rows between the attack's start and end, average each "
            "column, and take the largest"
        )


@exercise("ml.validation_threshold")
def validation_threshold(answer, *, scores: pd.Series, candidates, budget) -> None:
    value = _number(answer, "one of the CANDIDATES")
    no_attack = pd.Series(False, index=scores.index)

    def per_day(t: float) -> float:
        return metrics.false_alarms_per_day(no_attack, scores > t)

    if per_day(value) > budget:
        raise Hint(
            "with that threshold the held-out days have more false alarms per day than "
            "BUDGET: use `valid_scores`, and a higher threshold"
        )
    lowest = min(float(t) for t in candidates if per_day(t) <= budget)
    if value > lowest + 1e-9 * max(1.0, abs(lowest)):
        raise Hint(
            "a lower candidate also stays within the budget: the question asks for the lowest"
        )


def chronological_reference(features: pd.DataFrame, labels: pd.Series) -> float:
    """F1 on the second half of a forest trained on the first half (as the solution does)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import f1_score

    half = len(features) // 2
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
    forest.fit(features.iloc[:half], labels.iloc[:half])
    return float(f1_score(labels.iloc[half:], forest.predict(features.iloc[half:])))


@exercise("ml.chronological_f1")
def chronological_f1(answer, *, features, labels, shuffled_f1) -> None:
    value = _number(answer, "an F1 score")
    if not 0 <= value <= 1:
        raise Hint("an F1 score is between 0 and 1: use sklearn.metrics.f1_score")
    expected = chronological_reference(features, labels)
    if abs(value - expected) <= F1_TOLERANCE:
        return
    if abs(value - float(shuffled_f1)) <= 0.02:
        raise Hint(
            "that is about the shuffled score: split by position in time, e.g. "
            "features.iloc[:half] to train and .iloc[half:] to score"
        )
    raise Hint(
        "train on the first half of test1m/labels1m in time and compute "
        "f1_score(true labels, predictions) on the second half"
    )
