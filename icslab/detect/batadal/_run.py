"""Files in, a predictions file out: what `icslab detect batadal` runs.

`run` raises `InputError` (every problem, by file) on bad input and writes nothing then.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from icslab.detect.batadal._detector import BatadalDetector, fit
from icslab.detect.batadal._scada import read_datetimes, read_scada


def write_predictions(path: Path, datetimes: Sequence[str], flags: np.ndarray) -> None:
    """`DATETIME,ATT_FLAG` with 0/1 flags, one row per test row, in the test file's order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["DATETIME", "ATT_FLAG"])
        writer.writerows(zip(datetimes, np.asarray(flags, dtype=int).tolist(), strict=True))


def predict_file(detector: BatadalDetector, test: Path, out: Path) -> np.ndarray:
    """Flag every row of the BATADAL CSV `test` and write `out`; its labels, if any,
    are never looked at."""
    test_data = read_scada(test)
    datetimes = read_datetimes(test, len(test_data.features))
    flags = detector.predict(test_data.features).to_numpy()
    write_predictions(out, datetimes, flags)
    return flags


def run(train: Path, validate: Path, test: Path, out: Path) -> tuple[BatadalDetector, np.ndarray]:
    """Fit on `train`, calibrate on `validate`, flag `test` into `out`."""
    train_data, validate_data = read_scada(train), read_scada(validate)
    read_scada(test)  # refuse a bad test file before the fitting time is spent
    detector = fit(train_data, validate_data)
    return detector, predict_file(detector, test, out)
