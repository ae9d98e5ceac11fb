"""Honest evaluation on dataset04: leave one attack out (never used by `fit`).

The labels it scores by and the blocks it cuts dataset04 into are BATADAL's
evaluation protocols (`icslab.protocols`); what runs per block is this detector's
own calibration, which is why it lives here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icslab.data import Dataset
from icslab.detect.batadal._alarms import Calibration, alarms, calibrate
from icslab.detect.batadal._detector import BatadalDetector
from icslab.protocols import GUARD_HOURS, attack_blocks, validation_labels


def leave_one_attack_out(
    detector: BatadalDetector, validate: Dataset, guard: int = GUARD_HOURS
) -> tuple[np.ndarray, list[Calibration]]:
    """Held-out alarms for every validation hour, and the calibration of each fold.

    The normal models come from train only. For each labelled attack, `calibrate`
    runs on the validation labels with that attack's block left out (<NA>), and
    the block's alarms come from that calibration: no hour is flagged by settings
    chosen while looking at it.
    """
    score, broken = detector.components(validate.features)
    labels = validation_labels(validate.labels, guard)
    held_out = np.zeros(len(labels), dtype=bool)
    chosen = []
    for block in attack_blocks(validate.labels):
        visible = labels.copy()
        visible.iloc[block] = pd.NA
        c = calibrate(score, broken, visible, detector.normal_score, detector.rule_hold)
        chosen.append(c)
        held_out[block] = alarms(score, broken, c.threshold, c.evidence_hold, c.rule_hold)[block]
    return held_out, chosen
