"""Read the simulated plant's datasets (built by `icslab datasets build`).

from icslab.data import load_plant
week = load_plant("train")        # from $ICSLAB_DATA, else datasets/build/
week.features["LIT401"].plot()    # UTC index, one float column per tag
week.labels                       # boolean Series: inside a labelled attack?

A dataset with hidden labels (the capstone's unseen attack set) loads too: its
`labels` is None, its `attacks` an empty table with the usual columns, and
`labels_hidden` is True. Its labels are with the instructors (`icslab leaderboard`).

`batadal_folder()` finds the public BATADAL files (`icslab datasets fetch batadal`).
The files of a dataset and their readers are `icslab.formats`'.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from icslab.errors import InputError
from icslab.formats import (
    HISTORIAN_FILE,
    LABELS_FILE,
    MODBUS_ARROW,
    SCADA_ARROW,
    SCADA_FILE,
    TAGS_FILE,
    attack_labels,
    labels_hidden,
    map_table,
    no_attacks,
    read_attacks,
    read_csv,
    read_table,
)
from icslab.paths import BATADAL_CACHE, DATASETS_BUILD

BATADAL_ENV = "ICSLAB_BATADAL"
BATADAL_FILES = ("BATADAL_dataset03.csv", "BATADAL_dataset04.csv", "BATADAL_test_dataset.csv")


def data_root() -> Path:
    """Where the datasets are: $ICSLAB_DATA in a participant's server, else the build folder."""
    return Path(os.environ.get("ICSLAB_DATA") or DATASETS_BUILD)


def batadal_folder() -> Path:
    """The folder holding the three BATADAL CSVs (dataset03, dataset04 and the test set).

    Looks in $ICSLAB_BATADAL, then data_root()/batadal, then the repository's
    datasets/cache/batadal (where `icslab datasets fetch batadal` puts them), and
    takes the first that has all three. Raises InputError naming every place
    looked at when none has them.
    """
    places = []
    if os.environ.get(BATADAL_ENV):
        places.append((Path(os.environ[BATADAL_ENV]), f"${BATADAL_ENV}"))
    places += [(data_root() / "batadal", "the datasets folder"), (BATADAL_CACHE, "the cache")]
    looked = []
    for folder, what in places:
        missing = [name for name in BATADAL_FILES if not (folder / name).is_file()]
        if not missing:
            return folder
        lacks = "does not exist" if not folder.is_dir() else f"lacks {', '.join(missing)}"
        looked.append(f"{folder} ({what}) {lacks}")
    raise InputError(
        "the BATADAL files are not here: " + "; ".join(looked),
        "get them with `icslab datasets fetch batadal` (downloads into datasets/cache/batadal), "
        f"or point ${BATADAL_ENV} at a folder holding {', '.join(BATADAL_FILES)}",
    )


@dataclass(frozen=True, eq=False)
class PlantData:
    features: pd.DataFrame  # UTC DatetimeIndex "timestamp", one float64 column per tag
    # bool, named "attack": True inside a labelled attack window; None when labels are hidden
    labels: pd.Series | None
    # labels.csv: attack_id, start, end (UTC), kind, targets, description; empty when hidden
    attacks: pd.DataFrame
    tags: pd.DataFrame  # tags.csv, indexed by tag
    folder: Path

    @property
    def labels_hidden(self) -> bool:
        """True for an unseen attack set: the instructors keep its labels."""
        return self.labels is None

    def historian(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The historian's long export: timestamp, tag, value, quality (or only
        `columns` of them: a third of the memory for one)."""
        return read_table(self.folder / HISTORIAN_FILE, columns).to_pandas()

    def modbus(self) -> pd.DataFrame:
        """Modbus/TCP transactions (the `values` column holds lists of registers),
        mapped from modbus.arrow like the telemetry: shared by every kernel."""
        return map_table(self.folder / MODBUS_ARROW).frame()

    def __repr__(self) -> str:
        rows, columns = self.features.shape
        attacks = "labels hidden" if self.labels_hidden else f"{len(self.attacks)} attacks"
        return f"PlantData({self.folder.name}: {rows:,} s x {columns} tags, {attacks})"


def load_plant(dataset: str | Path) -> PlantData:
    """A dataset by name (under data_root()) or by folder.

    For a dataset with hidden labels, `labels` is None and `attacks` is empty.
    """
    folder = Path(dataset) if Path(dataset).is_dir() else data_root() / str(dataset)
    if not folder.is_dir():
        available = sorted(p.name for p in data_root().glob(f"*/{SCADA_FILE}"))
        raise InputError(
            f"{folder}: no such dataset (available: {', '.join(available) or 'none built'}; "
            "build them with `icslab datasets build`)"
        )
    # Each column a view of the mapped file: the week's telemetry is in memory once
    # per host, however many kernels load it (float64 stays float64: astype is free).
    mapped = map_table(folder / SCADA_ARROW)
    scada, table = mapped.frame("timestamp"), mapped.table
    tags = read_csv(folder / TAGS_FILE).set_index("tag")
    if labels_hidden(table) and not (folder / LABELS_FILE).exists():
        return PlantData(scada.astype("float64"), None, no_attacks(), tags, folder)
    attacks = read_attacks(folder / LABELS_FILE)
    labels = attack_labels(scada.index, attacks)
    return PlantData(scada.astype("float64"), labels, attacks, tags, folder)
