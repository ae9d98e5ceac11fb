"""BATADAL's evaluation protocols: which labels a detector's dataset04 flags are scored by.

BATADAL's dataset04 (the validation file) labels only 219 of the 492 attack hours the
organisers later published; every other hour is -999, "unknown". How those unknown
hours count decides a score, so every score on dataset04 names its protocol
(`reference_labels`, one of `PROTOCOLS`):

  labelled  the file's attack hours; unknown hours inside a published attack window
            are left out, every other unknown hour counts as normal (what
            `icslab leaderboard` scores `batadal-validate` hand-ins by).
  windows   every hour of a published attack window is an attack (how the
            competition scored its fully labelled test set).
  file      `validation_labels`: no outside knowledge; unknown hours within
            `GUARD_HOURS` of a labelled hour left out, every other one normal (what a
            detector may calibrate on).

`attack_blocks` cuts dataset04 into one block per labelled attack, for a
leave-one-attack-out evaluation (e.g. `icslab.detect.batadal.leave_one_attack_out`).

`icslab.metrics` scores predictions against these labels; this module only says
what the labels are. It knows no detector.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

PROTOCOLS = ("labelled", "windows", "file")
GUARD_HOURS = 48  # unknown validation hours this close to a labelled attack are left out

# The seven attacks of dataset04 as published by the organisers (Taormina et al.
# 2018, J. Water Resour. Plann. Manage. 144(8), table of training dataset 2),
# first and last hour inclusive. The file labels only 219 of their 492 hours.
# For evaluation only: the pipeline never reads this.
DATASET04_ATTACKS = (
    ("2016-09-13 23", "2016-09-16 00"),
    ("2016-09-26 11", "2016-09-27 10"),
    ("2016-10-09 09", "2016-10-11 20"),
    ("2016-10-29 19", "2016-11-02 16"),
    ("2016-11-26 17", "2016-11-29 04"),
    ("2016-12-06 07", "2016-12-10 04"),
    ("2016-12-14 15", "2016-12-19 04"),
)


def validation_labels(labels: pd.Series, guard: int = GUARD_HOURS) -> pd.Series:
    """Labels to score the validation file by: attack, normal, or left out (<NA>).

    BATADAL dataset04 labels only part of its attacks and marks every other hour
    -999 (unknown). Assumption: unknown hours are normal, except those within
    `guard` hours of a labelled attack hour, which may be an attack's unlabelled
    start or end, or its physical aftermath, and are left out.
    """
    attack = labels.fillna(False).to_numpy(dtype=bool).astype(float)
    near = pd.Series(attack).rolling(2 * guard + 1, center=True, min_periods=1).max()
    out = labels.copy()
    out[labels.isna().to_numpy() & (near.to_numpy() == 0)] = False
    return out


def reference_labels(labels: pd.Series, protocol: str) -> pd.Series:
    """dataset04 labels to score held-out predictions by.

    "labelled": the file's attack hours; unknown hours inside a published attack
        window are left out (<NA>); every other unknown hour counts as normal.
    "windows": every hour of a published attack window is an attack, every other
        hour normal (how the competition scored its fully labelled test set).
    "file": `validation_labels`, what `fit` calibrates on (no outside knowledge).
    """
    if protocol == "file":
        return validation_labels(labels)
    index = labels.index
    inside = np.zeros(len(index), dtype=bool)
    for first, last in DATASET04_ATTACKS:
        inside |= (index >= pd.Timestamp(first, tz="UTC")) & (index <= pd.Timestamp(last, tz="UTC"))
    if protocol == "windows":
        return pd.Series(inside, index=index, name="attack").astype("boolean")
    if protocol == "labelled":
        out = labels.copy()
        out[labels.isna().to_numpy() & ~inside] = False
        return out
    raise ValueError(f"protocol must be 'labelled', 'windows' or 'file', not {protocol!r}")


def attack_blocks(labels: pd.Series) -> list[slice]:
    """Contiguous blocks of the validation file, one per labelled attack, cut halfway
    between consecutive attacks."""
    attack = labels.fillna(False).to_numpy(dtype=bool).astype(np.int8)
    edges = np.diff(attack, prepend=0, append=0)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    cuts = [0, *((ends[:-1] + starts[1:]) // 2), len(attack)]
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(cuts)]
