"""Stage 6: alarms (rules and evidence, held forward) and their calibration on the
validation labels."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from icslab.detect.batadal._scada import TANK_CONTROL
from icslab.metrics import batadal_score

# What `calibrate` may choose from: the share of normal training hours below the
# evidence threshold, and how long an evidence alarm is held (hours).
QUANTILES = (0.995, 0.998, 0.999)
EVIDENCE_HOLDS = (0, 3, 6)


def hold_alarms(raw: np.ndarray, hold: int) -> np.ndarray:
    """Keep each alarm on for `hold` more hours (causal: looks only backwards)."""
    raw = np.asarray(raw, dtype=bool)
    if hold <= 0 or not raw.any():
        return raw.copy()
    steps = np.arange(len(raw))
    last = np.maximum.accumulate(np.where(raw, steps, -(10**9)))
    return steps - last <= hold


def switch_interval(train: pd.DataFrame, share: float = 0.9) -> int:
    """Hours between two switches of a PLC-driven actuator, `share` quantile, in `train`.

    A spoofed level or a forced pump only contradicts the rules when a pump would
    switch; holding a rule alarm this long bridges the quiet hours in between.
    """
    gaps = np.concatenate(
        [
            np.diff(np.flatnonzero(np.diff(train[f"S_{actuator}"].to_numpy()) != 0))
            for actuator in TANK_CONTROL
        ]
    )
    return int(np.ceil(np.quantile(gaps, share))) if len(gaps) else 0


def alarms(
    score: np.ndarray,
    broken: np.ndarray,
    threshold: float,
    evidence_hold: int,
    rule_hold: int,
) -> np.ndarray:
    """Alarm where a rule is broken (held `rule_hold` hours) or the evidence exceeds
    `threshold` (held `evidence_hold` hours)."""
    by_rules = hold_alarms(np.asarray(broken, dtype=bool), rule_hold)
    return by_rules | hold_alarms(np.asarray(score) > threshold, evidence_hold)


@dataclass(frozen=True)
class Calibration:
    """quantile: share of unseen training hours whose evidence stays below `threshold`.
    s: the BATADAL score on the validation labels with these settings.
    """

    quantile: float
    threshold: float
    evidence_hold: int
    rule_hold: int
    s: float


def calibrate(
    score: np.ndarray,
    broken: np.ndarray,
    labels: pd.Series,
    normal_score: np.ndarray,
    rule_hold: int,
    quantiles: Sequence[float] = QUANTILES,
    holds: Sequence[int] = EVIDENCE_HOLDS,
) -> Calibration:
    """The evidence threshold and hold with the best BATADAL score S on `labels`.

    The threshold is a quantile of `normal_score` (the hourly score of unseen
    training hours): a false-alarm rate on normal data, not a free number. Ties go
    to the higher quantile and the shorter hold: fewer false alarms.
    """
    best: tuple[tuple[float, float, int], Calibration] | None = None
    for quantile, hold in itertools.product(quantiles, holds):
        threshold = float(np.quantile(normal_score, quantile))
        flags = alarms(score, broken, threshold, hold, rule_hold)
        s = batadal_score(labels, flags).s
        key = (np.nan_to_num(s, nan=-1.0), quantile, -hold)
        if best is None or key > best[0]:
            best = (key, Calibration(quantile, threshold, hold, rule_hold, float(s)))
    if best is None:
        raise ValueError("calibrate needs at least one quantile and one hold")
    return best[1]
