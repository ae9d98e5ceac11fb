"""Self-checks of 05-network: a Modbus/TCP baseline on TRAIN, per-minute alarms on TEST.

Alarm series are scored at one step per minute against the attacks that leave a
trace on the network (their description names Modbus traffic), as the notebook does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from icslab import metrics
from icslab.checks import Hint, exercise

WRITE_CODES = (5, 6, 15, 16)  # write coil, write register, write coils, write registers
MAX_FALSE_ALARMS_PER_DAY = 1.0
MIN_PRECISION = 0.5  # at least half of the alarmed minutes lie in the attacks aimed at


def minute_index(plant) -> pd.DatetimeIndex:
    """Every minute of the dataset's period: the steps of the notebook's alarm series."""
    return plant.labels.resample("1min").max().index


def minute_labels(plant, pattern: str) -> pd.Series:
    """Per minute: inside an attack whose description contains `pattern`?"""
    labels = pd.Series(False, index=minute_index(plant))
    chosen = plant.attacks[plant.attacks["description"].str.contains(pattern, regex=False)]
    for attack in chosen.itertuples():
        labels.loc[attack.start.floor("1min") : attack.end] = True
    return labels


def writes_per_minute(traffic: pd.DataFrame, index: pd.DatetimeIndex | None = None) -> pd.Series:
    writes = traffic.loc[traffic["function_code"].isin(WRITE_CODES), "timestamp"]
    counts = writes.dt.floor("1min").value_counts().sort_index()
    return counts if index is None else counts.reindex(index, fill_value=0)


def _triples(answer: Iterable) -> set[tuple[str, str, int]]:
    if isinstance(answer, str | bytes | pd.DataFrame):
        raise Hint("answer with a set of (src, dst, function_code) tuples")
    if isinstance(answer, pd.Series):
        answer = answer.index  # e.g. groupby([...]).size(): the triples are its index
    triples = set()
    for item in answer:
        if not isinstance(item, tuple | list) or len(item) != 3:
            raise Hint(
                "each item must be a (src, dst, function_code) tuple: three values, "
                "e.g. the index of a groupby on those three columns"
            )
        src, dst, code = item
        triples.add((str(src), str(dst), int(code)))
    return triples


@exercise("network.allowed")
def allowed(answer, *, traffic) -> None:
    found = _triples(answer)
    expected = {
        (str(src), str(dst), int(code))
        for src, dst, code in traffic.groupby(["src", "dst", "function_code"]).size().index
    }
    if found - expected:
        raise Hint("your set holds combinations that never occur in the training traffic")
    if expected - found:
        raise Hint(
            "some (src, dst, function_code) combinations of the training traffic are "
            "missing: keep every combination that occurs, even rare ones"
        )


def _number(answer, what: str) -> float:
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.integer | np.floating):
        raise Hint(f"answer with a number: {what}")
    if not math.isfinite(answer):
        raise Hint(f"answer with a finite number: {what}")
    return float(answer)


@exercise("network.write_limit")
def write_limit(answer, *, train_traffic, test_traffic, plant) -> None:
    limit = _number(answer, "the most writes per minute that are still normal")
    if limit < writes_per_minute(train_traffic).max():
        raise Hint(
            "with this limit some minutes of normal TRAIN traffic would raise an alarm: "
            "count the writes (function codes 5, 6, 15 and 16) in each minute of TRAIN "
            "and look at the busiest minute"
        )
    labels = minute_labels(plant, "writes")
    alarms = writes_per_minute(test_traffic, labels.index) > limit
    if metrics.event_recall(labels, alarms) < 1:
        raise Hint(
            "with this limit some Modbus injections in TEST never exceed it: a limit just "
            "above the busiest normal minute is enough, and count every write function code"
        )


def _minute_alarms(answer, index: pd.DatetimeIndex) -> pd.Series:
    if isinstance(answer, pd.DataFrame):
        raise Hint("answer with one column: a boolean Series with one value per minute")
    if not isinstance(answer, pd.Series):
        values = np.asarray(answer)
        if values.ndim != 1 or len(values) != len(index):
            raise Hint("answer with a boolean Series indexed by every minute of the test period")
        answer = pd.Series(values, index=index)
    if not answer.index.equals(index):
        raise Hint(
            "the series needs one value for every minute of the test period: "
            "reindex it on `minutes`, filling the missing minutes with False"
        )
    if answer.isna().any():
        raise Hint("the series has missing values: fill them with False")
    values = answer.to_numpy()
    if values.dtype != bool and not np.isin(values, (0, 1)).all():
        raise Hint("the series must hold True/False (alarm or not), not counts or scores")
    return answer.astype(bool)


def _score(alarms: pd.Series, labels: pd.Series, what: str, missed: str) -> None:
    if metrics.event_recall(labels, alarms) < 1:
        raise Hint(f"some {what} raise no alarm at all: {missed}")
    if metrics.pointwise(labels, alarms).precision < MIN_PRECISION:
        raise Hint(f"your alarm is on for many minutes without {what}: make the rule stricter")
    if metrics.false_alarms_per_day(labels, alarms) > MAX_FALSE_ALARMS_PER_DAY:
        raise Hint(
            f"more than {MAX_FALSE_ALARMS_PER_DAY:g} false alarm per day: raise your thresholds"
        )


@exercise("network.scan_minutes")
def scan_minutes(answer, *, plant) -> None:
    labels = minute_labels(plant, "scan")
    missed = "lower your thresholds, and look at both exceptions and distinct addresses"
    _score(_minute_alarms(answer, labels.index), labels, "scans", missed)


@exercise("network.spoofed_alarms")
def spoofed_alarms(answer, *, plant) -> None:
    labels = minute_labels(plant, "Modbus")
    missed = (
        "with the workstation's address the allowlist is not enough; which habits of the "
        "attacker still differ from the workstation's (function codes, PLCs, write rate)?"
    )
    _score(_minute_alarms(answer, labels.index), labels, "network attacks", missed)
