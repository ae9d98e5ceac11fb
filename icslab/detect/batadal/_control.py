"""Stage 2: the PLC control logic, learned from training and checked hour by hour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icslab.detect.batadal._scada import TANK_CONTROL

LEVEL_MARGIN = 0.1  # m: tolerance on learned control levels (hourly sampling, rounding)


@dataclass(frozen=True)
class ControlRule:
    """How one actuator followed its tank level in training (levels in m).

    run_max: highest level the actuator was ever on at; above it, it must be off.
    stop_min: lowest level it was ever off at; below it, it must be on.
    start_max: highest level it was ever switched on from (the start level).
    stop_from: lowest level it was ever switched off from (the stop level).
    """

    actuator: str
    tank: str
    run_max: float
    stop_min: float
    start_max: float
    stop_from: float


def learn_control_rules(train: pd.DataFrame) -> dict[str, ControlRule]:
    """One `ControlRule` per actuator of `TANK_CONTROL` that switches in `train`."""
    rules = {}
    for actuator, tank in TANK_CONTROL.items():
        status = train[f"S_{actuator}"].to_numpy() > 0.5
        if status.all() or not status.any():
            continue  # never switched: `status_violations` watches it
        level = train[tank].to_numpy()
        before = np.r_[level[0], level[:-1]]
        was_on = np.r_[status[0], status[:-1]]
        starts, stops = ~was_on & status, was_on & ~status
        run_max, stop_min = level[status].max(), level[~status].min()
        rules[actuator] = ControlRule(
            actuator,
            tank,
            run_max=float(run_max),
            stop_min=float(stop_min),
            start_max=float(before[starts].max()) if starts.any() else float(run_max),
            stop_from=float(before[stops].min()) if stops.any() else float(stop_min),
        )
    return rules


def control_violations(
    frame: pd.DataFrame, rules: dict[str, ControlRule], margin: float = LEVEL_MARGIN
) -> pd.DataFrame:
    """Per actuator, True where its status contradicts its tank level.

    A small state machine per actuator, as the PLC's hysteresis: once the level
    rose above `run_max` the actuator must stay off until the level falls back to
    its start level (`start_max`); once it fell below `stop_min` it must stay on
    until the level reaches its stop level (`stop_from`). Levels get `margin` of slack.
    """
    flags = {}
    for actuator, rule in rules.items():
        status = frame[f"S_{actuator}"].to_numpy() > 0.5
        level = frame[rule.tank].to_numpy()
        must_stop = must_run = False
        broken = np.zeros(len(level), dtype=bool)
        for hour, (on, value) in enumerate(zip(status, level, strict=True)):
            if value > rule.run_max + margin:
                must_stop = True
            elif value <= rule.start_max + margin:
                must_stop = False
            if value < rule.stop_min - margin:
                must_run = True
            elif value >= rule.stop_from - margin:
                must_run = False
            broken[hour] = (on and must_stop) or (not on and must_run)
        flags[f"control {actuator}"] = broken
    return pd.DataFrame(flags, index=frame.index, dtype=bool)
