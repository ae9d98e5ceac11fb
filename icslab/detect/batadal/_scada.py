"""Stage 1: C-Town's tags, and its SCADA files read as exported.

`read_scada` rounds every file to the 0.01 resolution of the SCADA exports (dataset03
has full precision, dataset04 and the test set do not: without rounding, pressures
that barely move in training look anomalous).
"""

from __future__ import annotations

import csv
from pathlib import Path

from icslab.data import Dataset, load_batadal
from icslab.errors import InputError

LEVELS = tuple(f"L_T{tank}" for tank in range(1, 8))
# C-Town's PLCs start and stop these actuators on the level of the tank they fill.
TANK_CONTROL = {
    "PU2": "L_T1",
    "PU4": "L_T3",
    "PU6": "L_T4",
    "PU7": "L_T4",
    "PU8": "L_T5",
    "PU10": "L_T7",
    "PU11": "L_T7",
    "V2": "L_T2",
}
RESOLUTION = 0.01  # dataset04 and the test set are exported with two decimals


def read_scada(path: str | Path) -> Dataset:
    """Load a BATADAL CSV (see `load_batadal`) and round it to the SCADA resolution.

    Refuses files whose timestamps do not strictly increase: windows and the
    control-logic state machine need the hours in order.
    """
    dataset = load_batadal(path)
    index = dataset.features.index
    if not (index.is_monotonic_increasing and index.is_unique):
        raise InputError(f"{dataset.source}: timestamps must strictly increase, row after row")
    return Dataset(dataset.features.round(2), dataset.labels, dataset.source)


def read_datetimes(path: str | Path, rows: int) -> list[str]:
    """The DATETIME cells of a BATADAL CSV exactly as written, one per data row."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        cells = [row[0] for row in csv.reader(handle) if row]
    cells = cells[1:]  # the header
    if len(cells) != rows:
        raise InputError(f"{path}: {len(cells)} DATETIME cells for {rows} data rows")
    return cells
