"""Scoring predictions where the labels are known (a team's own validation, the leaderboard)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from icslab.errors import InputError


@dataclass(frozen=True)
class Score:
    """How predictions do against labels; S is the BATADAL competition score (1 is perfect).

    s = (s_ttd + s_cm) / 2; s_ttd rewards early detection, s_cm = (TPR + TNR) / 2.
    event_recall: share of attacks with at least one alarm inside them.
    false_alarms_per_day: runs of alarms in normal time (known rows outside every
        attack and the 30 minutes after it), per day of normal time (NaN without
        timestamps): a standing alarm counts once per stretch between attacks.
    normal_time_in_alarm: share of the normal time in alarm (1.0 for an alarm
        that never stops). See `icslab.metrics.false_alarms_per_day`.
    alarm_share: share of known rows flagged.
    """

    s: float
    s_ttd: float
    s_cm: float
    event_recall: float
    false_alarms_per_day: float
    normal_time_in_alarm: float
    alarm_share: float

    def __repr__(self) -> str:
        return (
            f"Score(S {self.s:.3f} = (S_TTD {self.s_ttd:.3f} + S_CM {self.s_cm:.3f}) / 2, "
            f"events {self.event_recall:.0%}, {self.false_alarms_per_day:.1f} false alarms/day, "
            f"{self.normal_time_in_alarm:.1%} of normal time in alarm, "
            f"{self.alarm_share:.1%} flagged)"
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "S": self.s,
            "S_TTD": self.s_ttd,
            "S_CM": self.s_cm,
            "event recall": self.event_recall,
            "false alarms/day": self.false_alarms_per_day,
            "normal time in alarm": self.normal_time_in_alarm,
            "flagged": self.alarm_share,
        }


def score(predictions: Any, labels: Any, timestamps: Any = None) -> Score:
    """Score 0/1 `predictions` against `labels` (True inside an attack; <NA> unknown).

    Both one value per row; when both are Series they must share their index. False
    alarms per day need time: `timestamps`, or a DatetimeIndex on labels or predictions.
    """
    from icslab.metrics import (
        RECOVERY,
        batadal_score,
        event_recall,
        false_alarms_per_day,
        normal_time_in_alarm,
    )

    if labels is None:
        raise InputError("no labels to score against: this dataset's labels are hidden")
    s = batadal_score(labels, predictions)
    recall = event_recall(labels, predictions)
    try:
        false = false_alarms_per_day(labels, predictions, timestamps)
        in_alarm = normal_time_in_alarm(labels, predictions, timestamps, RECOVERY)
    except ValueError:  # no time (the recovery is a time), or no normal time
        false = in_alarm = math.nan
    known = ~pd.Series(labels).isna().to_numpy()
    flags = pd.Series(predictions).to_numpy(dtype=float)[known]
    share = float(flags.mean()) if len(flags) else math.nan
    return Score(s.s, s.s_ttd, s.s_cm, recall, false, in_alarm, share)
