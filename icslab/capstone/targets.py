"""What a capstone submission must line up with: one flag per row of a plant dataset,
or per hour of a BATADAL file."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from icslab.data.plant import data_root
from icslab.errors import InputError

BATADAL_SETS = {
    "batadal-test": "BATADAL_test_dataset.csv",
    "batadal-validate": "BATADAL_dataset04.csv",
}


PLANT_COLUMNS = ("timestamp", "attack")


BATADAL_COLUMNS = ("DATETIME", "ATT_FLAG")


@dataclass(frozen=True)
class Target:
    """The rows a submission for `dataset` must have.

    index: the time of each row (UTC). cells: how each row's time is written in the
    submission file. columns: the file's header.
    """

    dataset: str
    index: pd.DatetimeIndex
    cells: tuple[str, ...]
    columns: tuple[str, str]
    source: Path

    @property
    def is_batadal(self) -> bool:
        return self.dataset in BATADAL_SETS


def target(dataset: str, *, data: Path | None = None, batadal: Path | None = None) -> Target:
    """The rows of `dataset`: a plant dataset under `data` (default data_root()), or a
    BATADAL set in `batadal` (default icslab.data.batadal_folder())."""
    if not isinstance(dataset, str) or not dataset:
        raise InputError(f"dataset {dataset!r}: give a dataset name such as 'capstone'")
    if dataset in BATADAL_SETS:
        return _batadal_target(dataset, batadal)
    return _plant_target(dataset, data or data_root())


def _plant_target(dataset: str, data: Path) -> Target:
    scada = data / dataset / "scada.parquet"
    if "/" in dataset or "\\" in dataset or dataset.startswith(".") or not scada.is_file():
        known = [*sorted(p.parent.name for p in data.glob("*/scada.parquet")), *BATADAL_SETS]
        raise InputError(f"unknown dataset {dataset!r}: submit for one of {', '.join(known)}")
    try:
        stamps = pq.read_table(scada, columns=["timestamp"]).column(0).to_pandas()
    except (OSError, pa.ArrowException, KeyError) as error:
        raise InputError(f"{scada}: unreadable ({error})") from None
    index = pd.DatetimeIndex(stamps, name="timestamp")
    seconds = index.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
    cells = np.char.add(np.datetime_as_string(seconds, unit="s"), "Z")  # 2026-03-13T00:00:00Z
    return Target(dataset, index, tuple(cells.tolist()), PLANT_COLUMNS, scada)


def _batadal_target(dataset: str, folder: Path | None) -> Target:
    from icslab.data import batadal_folder, load_batadal

    path = (folder or batadal_folder()) / BATADAL_SETS[dataset]
    index = load_batadal(path).features.index
    with path.open(newline="", encoding="utf-8-sig") as handle:
        cells = [row[0].strip() for row in csv.reader(handle) if row][1:]
    if len(cells) != len(index):
        raise InputError(f"{path}: {len(cells)} DATETIME cells for {len(index)} rows")
    return Target(dataset, index, tuple(cells), BATADAL_COLUMNS, path)
