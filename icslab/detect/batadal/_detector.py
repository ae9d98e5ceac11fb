"""The whole pipeline: the fitted detector, learned from train, calibrated on validate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icslab.data import Dataset
from icslab.detect.batadal._alarms import Calibration, alarms, calibrate, switch_interval
from icslab.detect.batadal._control import ControlRule, control_violations, learn_control_rules
from icslab.detect.batadal._evidence import evidence, evidence_scales, hourly_score
from icslab.detect.batadal._physics import ResidualModel, fit_physics, residuals
from icslab.detect.batadal._status import StatusRules, learn_status_rules, status_violations
from icslab.errors import InputError
from icslab.protocols import GUARD_HOURS, validation_labels


@dataclass
class BatadalDetector:
    """Rules, models and scales learned from train; the calibration from validate.

    normal_score: the hourly score of training hours each model had not seen.
    rule_hold: how long a rule alarm is held (`switch_interval` of train).

    A pipeline, not a scikit-learn estimator (unlike the other detectors of
    `icslab.detect`): it is learned from two files with different roles, the
    attack-free year (`fit_normal`: rules, models, scales) and the partly labelled
    validation file (`calibrate`), where `fit(X, y)` has one X; and it reads
    BATADAL's tags by name (`L_T1`, `S_PU2`, ...: which pump fills which tank) and
    the hour of day from a DatetimeIndex, so an unnamed array cannot be scored.
    This class holds what `fit_normal` and `fit` learned; build it with them.
    """

    control: dict[str, ControlRule]
    status: StatusRules
    physics: list[ResidualModel]
    scales: dict[int, pd.Series]
    normal_score: np.ndarray
    rule_hold: int
    calibration: Calibration | None = None

    def rule_flags(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Stages 2 and 3: one boolean column per rule."""
        return pd.concat(
            [control_violations(frame, self.control), status_violations(frame, self.status)],
            axis=1,
        )

    def evidence(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Stages 4 and 5: evidence per residual and window."""
        return evidence(residuals(self.physics, frame), self.scales)

    def components(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(hourly evidence score, any rule broken) for every hour of `frame`."""
        score = hourly_score(self.evidence(frame))
        return score, self.rule_flags(frame).any(axis=1).to_numpy()

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        """Stage 6: the alarm (True) or not for every hour of `frame`, on its index."""
        if self.calibration is None:
            raise ValueError("calibrate the detector first (see `fit`)")
        c = self.calibration
        score, broken = self.components(frame)
        flags = alarms(score, broken, c.threshold, c.evidence_hold, c.rule_hold)
        return pd.Series(flags, index=frame.index, name="attack")

    def explain(self, frame: pd.DataFrame, top: int = 3) -> pd.DataFrame:
        """Per hour: the alarm, the broken rules and the `top` strongest evidence."""
        flags = self.rule_flags(frame)
        ev = self.evidence(frame)
        values, names = ev.to_numpy(), ev.columns.to_numpy()
        order = np.argsort(-values, axis=1)[:, :top]
        strongest = [
            ", ".join(f"{names[j]}={row[j]:.1f}" for j in idx)
            for row, idx in zip(values, order, strict=True)
        ]
        broken = [", ".join(flags.columns[row]) for row in flags.to_numpy()]
        return pd.DataFrame(
            {"alarm": self.predict(frame), "rules": broken, "evidence": strongest},
            index=frame.index,
        )


def fit_normal(train: pd.DataFrame) -> BatadalDetector:
    """Stages 2-5 on attack-free data: rules, residual models, evidence scales."""
    models, oof = fit_physics(train)
    scales = evidence_scales(oof)
    return BatadalDetector(
        control=learn_control_rules(train),
        status=learn_status_rules(train),
        physics=models,
        scales=scales,
        normal_score=hourly_score(evidence(oof, scales)),
        rule_hold=switch_interval(train),
    )


def fit(train: Dataset, validate: Dataset, guard: int = GUARD_HOURS) -> BatadalDetector:
    """Learn normal behaviour from `train`, then calibrate stage 6 on `validate`'s labels."""
    attacks = 0 if train.labels is None else int(train.labels.fillna(False).sum())
    if attacks:
        raise InputError(
            f"{train.source}: the training file must be attack-free, "
            f"but {attacks} hours are labelled attacks (ATT_FLAG 1)"
        )
    if validate.labels is None:
        raise InputError(f"{validate.source}: the validation file needs an ATT_FLAG column")
    if not validate.labels.fillna(False).any():
        raise InputError(f"{validate.source}: no hour is labelled as an attack (ATT_FLAG 1)")
    detector = fit_normal(train.features)
    score, broken = detector.components(validate.features)
    labels = validation_labels(validate.labels, guard)
    detector.calibration = calibrate(
        score, broken, labels, detector.normal_score, detector.rule_hold
    )
    return detector
