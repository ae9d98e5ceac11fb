"""Self-checks of 03-statistical."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from icslab import metrics
from icslab.checks import Hint, exercise
from icslab.detect import CUSUMDetector, EWMADetector

SIGMAS = 4  # exercise 1 asks for mean +- 4 standard deviations
SLACK = pd.Timedelta("30s")  # exercise 3: an alpha this close to the fastest one is fine


def _number(answer, what: str) -> float:
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise Hint(f"answer with {what} (a number)")
    return float(answer)


@exercise("statistical.sigma_limits")
def sigma_limits(answer, *, train: pd.DataFrame) -> None:
    if not isinstance(answer, pd.DataFrame) or not {"low", "high"} <= set(answer.columns):
        raise Hint("answer with a DataFrame with the columns 'low' and 'high', one row per tag")
    if set(map(str, answer.index)) != set(map(str, train.columns)):
        raise Hint("use one row per sensor tag: the index should be the columns of `train10`")
    answer = answer.set_axis(answer.index.map(str)).reindex(train.columns)
    low, high = answer["low"].astype(float), answer["high"].astype(float)
    if (low > high).any():
        raise Hint("some `low` limits are above their `high` limit: are the columns swapped?")
    mean, std = train.mean(), train.std()
    tolerance = 0.01 * std + 1e-9  # ddof 0 or 1 both pass
    half = (high - low) / 2
    if ((low + high) / 2 - mean).abs().gt(tolerance).any():
        raise Hint(
            "the middle of each band should be the tag's mean over the training week (`train10`)"
        )
    width = half / std.where(std > 0)
    known = width.dropna()
    if known.empty or not np.allclose(known, SIGMAS, atol=0.01 * SIGMAS):
        raise Hint(
            "each limit should be the number of standard deviations the exercise asks for "
            "away from the mean (`train10.std()`)"
        )


def _held(alarms: pd.Series, minutes) -> pd.Series:
    alarms = alarms.astype(bool)
    if minutes == 0:
        return alarms
    return alarms.astype(float).rolling(f"{minutes}min").max().astype(bool)


@exercise("statistical.shortest_hold")
def shortest_hold(answer, *, alarms: pd.Series, labels: pd.Series, holds) -> None:
    value = _number(answer, "a number of minutes from HOLDS")
    if value not in holds:
        raise Hint("pick one of the off-delays in HOLDS")
    per_day = {m: metrics.false_alarms_per_day(labels, _held(alarms, m)) for m in holds}
    fewest = min(per_day.values())
    if per_day[value] > fewest + 1e-9:
        raise Hint(
            "another off-delay gives fewer false alarms per day: "
            "compute metrics.false_alarms_per_day for each hold"
        )
    if value != min(m for m in holds if per_day[m] <= fewest + 1e-9):
        raise Hint(
            "a shorter off-delay gives as few false alarms: the question asks for the shortest"
        )


def _delay(detector, trial: pd.DataFrame, trial_labels: pd.Series):
    """(time to detect or NaT, alarms before the bias) of a fitted detector on the trial."""
    alarms = pd.Series(detector.predict(trial).astype(bool), index=trial_labels.index)
    return metrics.time_to_detect(trial_labels, alarms)[0], int(alarms[~trial_labels].sum())


@exercise("statistical.best_alpha")
def best_alpha(answer, *, train, trial, trial_labels, alphas) -> None:
    value = _number(answer, "one of the alphas in ALPHAS")
    if not any(np.isclose(value, alpha) for alpha in alphas):
        raise Hint("pick one of the values in ALPHAS")
    delays = {
        alpha: _delay(EWMADetector(alpha=alpha, quantile=1.0).fit(train), trial, trial_labels)[0]
        for alpha in alphas
    }
    detected = {alpha: delay for alpha, delay in delays.items() if not pd.isna(delay)}
    mine = next(delays[alpha] for alpha in alphas if np.isclose(value, alpha))
    if pd.isna(mine):
        raise Hint(
            "with that alpha the EWMA never crosses its threshold during the bias: "
            "print the time to detect of every alpha"
        )
    if detected and mine > min(detected.values()) + SLACK:
        raise Hint("another alpha detects the bias sooner: compare the times to detect")


@exercise("statistical.cusum")
def cusum(answer, *, train: pd.DataFrame, trial, trial_labels, within) -> None:
    if not isinstance(answer, CUSUMDetector):
        raise Hint("answer with a CUSUMDetector(k=..., ...) fitted with .fit(train_tag)")
    if not hasattr(answer, "threshold_"):
        raise Hint("fit the detector on the training week: cusum.fit(train_tag)")
    if answer.n_features_in_ != train.shape[1]:
        raise Hint("fit it on `train_tag`, the one chlorine column of the training week")
    values = train.to_numpy(dtype=float)
    if not np.allclose(answer.mean_, values.mean(axis=0), atol=0.05 * values.std(axis=0)):
        raise Hint("fit it on the training week (`train_tag`), not on the test data")
    if (answer.decision_function(train) > answer.threshold_).any():
        raise Hint(
            "it raises alarms during the training week: raise h, or set quantile=1.0 "
            "to put the threshold at the training week's highest score"
        )
    delay, early = _delay(answer, trial, trial_labels)
    if early:
        raise Hint("it alarms before the bias starts: the threshold is too low")
    if pd.isna(delay):
        raise Hint(
            "it never detects the bias: with a threshold this high, try another slack k "
            "(a larger k ignores the slow wander of the control loop)"
        )
    if delay > within:
        raise Hint(
            "it detects the bias, but too late: try other values of k (each with the "
            "threshold calibrated on the training week) and compare the times to detect"
        )
