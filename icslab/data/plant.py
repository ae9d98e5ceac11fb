"""Read the simulated plant's datasets (built by `icslab datasets build`).

from icslab.data import load_plant
week = load_plant("train")        # from $ICSLAB_DATA, else datasets/build/
week.features["LIT401"].plot()    # UTC index, one float column per tag
week.labels                       # boolean Series: inside a labelled attack?

A dataset with hidden labels (the capstone's unseen attack set) loads too: its
`labels` is None, its `attacks` an empty table with the usual columns, and
`labels_hidden` is True. Its labels are with the instructors (`icslab leaderboard`).

`batadal_folder()` finds the public BATADAL files (`icslab datasets fetch batadal`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from icslab.errors import InputError
from icslab.sim.modbus import read_traffic

REPO_BUILD = Path(__file__).resolve().parents[2] / "datasets" / "build"
REPO_BATADAL = Path(__file__).resolve().parents[2] / "datasets" / "cache" / "batadal"
BATADAL_ENV = "ICSLAB_BATADAL"
BATADAL_FILES = ("BATADAL_dataset03.csv", "BATADAL_dataset04.csv", "BATADAL_test_dataset.csv")
ATTACK_COLUMNS = ("attack_id", "start", "end", "kind", "targets", "description")
# scada.parquet's schema metadata of a dataset whose labels are hidden (icslab.sim.build)
HIDDEN_KEY, HIDDEN_VALUE = b"icslab.labels", b"hidden"


def data_root() -> Path:
    """Where the datasets are: $ICSLAB_DATA in a participant's server, else the build folder."""
    return Path(os.environ.get("ICSLAB_DATA") or REPO_BUILD)


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
    places += [(data_root() / "batadal", "the datasets folder"), (REPO_BATADAL, "the cache")]
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

    def historian(self) -> pd.DataFrame:
        """The historian's long export: timestamp, tag, value, quality."""
        return _read_parquet(self.folder / "historian.parquet")

    def modbus(self) -> pd.DataFrame:
        """Modbus/TCP transactions (the `values` column holds lists of registers)."""
        path = self.folder / "modbus.parquet"
        if not path.exists():
            raise InputError(f"{path}: missing; rebuild with `icslab datasets build`")
        return read_traffic(path)

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
        available = sorted(p.name for p in data_root().glob("*/scada.parquet"))
        raise InputError(
            f"{folder}: no such dataset (available: {', '.join(available) or 'none built'}; "
            "build them with `icslab datasets build`)"
        )
    table = _read_table(folder / "scada.parquet")
    scada = table.to_pandas().set_index("timestamp")
    tags = _read_csv(folder / "tags.csv").set_index("tag")
    hidden = (table.schema.metadata or {}).get(HIDDEN_KEY) == HIDDEN_VALUE
    if hidden and not (folder / "labels.csv").exists():
        return PlantData(scada.astype("float64"), None, no_attacks(), tags, folder)
    attacks = read_attacks(folder / "labels.csv")
    labels = attack_labels(scada.index, attacks)
    return PlantData(scada.astype("float64"), labels, attacks, tags, folder)


def read_attacks(path: Path) -> pd.DataFrame:
    """A labels.csv: attack_id, start, end (UTC, inclusive), kind, targets, description."""
    attacks = _read_csv(path, parse_dates=["start", "end"])
    if list(attacks.columns) != list(ATTACK_COLUMNS):
        raise InputError(f"{path}: columns must be {', '.join(ATTACK_COLUMNS)}")
    return no_attacks() if attacks.empty else attacks


def no_attacks() -> pd.DataFrame:
    """An empty attack table with labels.csv's columns and types."""
    columns = {name: pd.Series(dtype="str") for name in ATTACK_COLUMNS}
    columns["start"] = columns["end"] = pd.Series(dtype="datetime64[us, UTC]")
    return pd.DataFrame(columns)


def attack_labels(index: pd.DatetimeIndex, attacks: pd.DataFrame) -> pd.Series:
    """True at every timestamp of `index` inside an attack of `attacks` (ends inclusive)."""
    labels = pd.Series(False, index=index, name="attack")
    for attack in attacks.itertuples():
        labels.loc[attack.start : attack.end] = True
    return labels


def _read_parquet(path: Path) -> pd.DataFrame:
    return _read_table(path).to_pandas()


def _read_table(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; rebuild with `icslab datasets build`") from None
    except (OSError, pa.ArrowException) as error:  # truncated or corrupt
        raise InputError(
            f"{path}: unreadable ({error}); rebuild with `icslab datasets build`"
        ) from None


def _read_csv(path: Path, **options) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; rebuild with `icslab datasets build`") from None
