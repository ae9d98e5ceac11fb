"""Read the simulated plant's datasets (built by `icslab datasets build`).

from icslab.data import load_plant
week = load_plant("train")        # from $ICSLAB_DATA, else datasets/build/
week.features["LIT401"].plot()    # UTC index, one float column per tag
week.labels                       # boolean Series: inside a labelled attack?
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


def data_root() -> Path:
    """Where the datasets are: $ICSLAB_DATA in a participant's server, else the build folder."""
    return Path(os.environ.get("ICSLAB_DATA") or REPO_BUILD)


@dataclass(frozen=True, eq=False)
class PlantData:
    features: pd.DataFrame  # UTC DatetimeIndex "timestamp", one float64 column per tag
    labels: pd.Series  # bool, named "attack": True inside a labelled attack window
    attacks: pd.DataFrame  # labels.csv: attack_id, start, end (UTC), kind, targets, description
    tags: pd.DataFrame  # tags.csv, indexed by tag
    folder: Path

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
        return (
            f"PlantData({self.folder.name}: {rows:,} s x {columns} tags, "
            f"{len(self.attacks)} attacks)"
        )


def load_plant(dataset: str | Path) -> PlantData:
    """A dataset by name (under data_root()) or by folder."""
    folder = Path(dataset) if Path(dataset).is_dir() else data_root() / str(dataset)
    if not folder.is_dir():
        available = sorted(p.name for p in data_root().glob("*/scada.parquet"))
        raise InputError(
            f"{folder}: no such dataset (available: {', '.join(available) or 'none built'}; "
            "build them with `icslab datasets build`)"
        )
    scada = _read_parquet(folder / "scada.parquet").set_index("timestamp")
    attacks = _read_csv(folder / "labels.csv", parse_dates=["start", "end"])
    tags = _read_csv(folder / "tags.csv").set_index("tag")
    labels = pd.Series(False, index=scada.index, name="attack")
    for attack in attacks.itertuples():
        labels.loc[attack.start : attack.end] = True
    return PlantData(scada.astype("float64"), labels, attacks, tags, folder)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
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
