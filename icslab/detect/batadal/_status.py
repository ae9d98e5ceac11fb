"""Stage 3: status consistency (a status against its flow, its pressure; frozen tags)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icslab.detect.batadal._scada import RESOLUTION

FLOW_EPS = 0.5  # flow below which a pump or valve is taken as stopped


@dataclass(frozen=True)
class PressureRule:
    """In training, `status` on always came with `tag` above (or below) `cut`."""

    status: str
    tag: str
    cut: float
    above: bool


@dataclass(frozen=True)
class StatusRules:
    """pairs: actuators whose status matched their flow in every training hour.
    pressures: status/pressure (or other flow) pairs separated in every training hour.
    frozen: tags constant in training, with their value (e.g. S_PU1 = 1, F_PU3 = 0).
    """

    pairs: tuple[str, ...]
    pressures: tuple[PressureRule, ...]
    frozen: dict[str, float]


def learn_status_rules(train: pd.DataFrame, min_gap: float = 0.25) -> StatusRules:
    """Which status/flow pairs always agree in `train`; which pressures (or flows)
    tell each status apart; which tags never move.

    A running pump raises the pressure at the node it feeds: if every training hour
    with the pump on reads above some level and every hour with it off reads below,
    with a gap of at least `min_gap` standard deviations (and 10 resolution steps),
    the midpoint of the gap becomes a rule.
    """
    pairs, pressures = [], []
    statuses = [c for c in train.columns if c.startswith("S_") and train[c].nunique() > 1]
    for column in [c for c in train.columns if c.startswith("S_")]:
        if f"F_{column[2:]}" in train:
            on = train[column].to_numpy() > 0.5
            flowing = train[f"F_{column[2:]}"].to_numpy() > FLOW_EPS
            if (on == flowing).all():
                pairs.append(column[2:])
    for status in statuses:
        on = train[status].to_numpy() > 0.5
        for tag in [c for c in train.columns if c.startswith(("P_", "F_"))]:
            if tag == f"F_{status[2:]}":
                continue
            values = train[tag].to_numpy()
            low_on, high_on = values[on].min(), values[on].max()
            low_off, high_off = values[~on].min(), values[~on].max()
            gap_needed = max(min_gap * values.std(), 10 * RESOLUTION)
            if low_on - high_off >= gap_needed:
                pressures.append(PressureRule(status, tag, (low_on + high_off) / 2, True))
            elif low_off - high_on >= gap_needed:
                pressures.append(PressureRule(status, tag, (low_off + high_on) / 2, False))
    frozen = {c: float(train[c].iloc[0]) for c in train.columns if train[c].nunique() == 1}
    return StatusRules(tuple(pairs), tuple(pressures), frozen)


def status_violations(frame: pd.DataFrame, rules: StatusRules) -> pd.DataFrame:
    """True where a status contradicts its flow or its pressure, or a frozen tag moves."""
    flags = {}
    for actuator in rules.pairs:
        on = frame[f"S_{actuator}"].to_numpy() > 0.5
        flowing = frame[f"F_{actuator}"].to_numpy() > FLOW_EPS
        flags[f"status {actuator} vs flow"] = on != flowing
    for rule in rules.pressures:
        on = frame[rule.status].to_numpy() > 0.5
        high = frame[rule.tag].to_numpy() > rule.cut
        flags[f"status {rule.status[2:]} vs {rule.tag}"] = on != (high if rule.above else ~high)
    for column, value in rules.frozen.items():
        flags[f"frozen {column}"] = np.abs(frame[column].to_numpy() - value) > RESOLUTION
    return pd.DataFrame(flags, index=frame.index, dtype=bool)
