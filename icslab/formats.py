"""The plant datasets' files: what `icslab.sim` writes and `icslab.data` reads.

One dataset is one folder (`icslab datasets build` makes them) holding FILES:

- scada.parquet: `timestamp` (UTC, 1 Hz) and one float64 column per tag. Its schema
  metadata has HIDDEN_KEY = HIDDEN_VALUE when the labels are hidden (the capstone's
  unseen attack set): that is how a reader tells "hidden" from "missing".
- scada.arrow: the same table, as uncompressed Arrow IPC in one record batch
  (`write_mappable`). Kernels memory-map it (`map_table`): its columns are views of
  the file, so every participant's server on a host shares one copy of a week's
  telemetry in the page cache instead of decoding its own. Parquet stays the
  format people download and open elsewhere.
- historian.parquet: HISTORIAN_COLUMNS, `quality` one of QUALITIES.
- modbus.parquet: one Modbus/TCP transaction per row, MODBUS_SCHEMA; read it with
  `read_traffic` (plain pandas cannot rebuild its list column). modbus.arrow: the
  same, mappable like scada.arrow (`PlantData.modbus` maps it).
- labels.csv: ATTACK_COLUMNS, times in LABELS_TIME_FORMAT (UTC, both ends inclusive);
  read it with `read_attacks`, turn it into per-second labels with `attack_labels`.
- tags.csv: TAG_COLUMNS, one row per tag.
- datacard.md: what the dataset is, for people.

Files are named by their content with `icslab.files.file_sha256`, in the catalog
(built files) and by the fetcher (public files). This module is below both
`icslab.sim` and `icslab.data`: it imports neither.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from icslab.errors import InputError

SCADA_FILE = "scada.parquet"
SCADA_ARROW = "scada.arrow"
HISTORIAN_FILE = "historian.parquet"
MODBUS_FILE = "modbus.parquet"
MODBUS_ARROW = "modbus.arrow"
LABELS_FILE = "labels.csv"
TAGS_FILE = "tags.csv"
DATACARD_FILE = "datacard.md"
FILES = (
    SCADA_FILE,
    SCADA_ARROW,
    HISTORIAN_FILE,
    MODBUS_FILE,
    MODBUS_ARROW,
    LABELS_FILE,
    TAGS_FILE,
    DATACARD_FILE,
)
CSV_FILES = ("scada.csv", "historian.csv", "modbus.csv")  # `build --csv`: the same, as CSV

# scada.parquet's schema metadata of a dataset whose labels are hidden
HIDDEN_KEY, HIDDEN_VALUE = b"icslab.labels", b"hidden"

HISTORIAN_COLUMNS = ("timestamp", "tag", "value", "quality")
QUALITIES = ("Good", "Bad", "Uncertain", "Substituted")  # "Bad": value is NaN

ATTACK_COLUMNS = ("attack_id", "start", "end", "kind", "targets", "description")
LABELS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# labels.csv's `targets`: the tag (or PLC) names an attack acts on, joined by this;
# `read_attacks` gives each attack's as a list.
TARGETS_SEPARATOR = ";"

TAG_COLUMNS = (
    "tag",
    "unit",
    "kind",
    "stage",
    "description",
    "low",
    "high",
    "plc",
    "register",
    "scale",
    "deadband",
)

# Columns of modbus.parquet, in order; one row per request/response transaction.
MODBUS_COLUMNS = (
    "timestamp",  # UTC, when the request was sent
    "src",  # IPv4 of the client
    "dst",  # IPv4 of the server (PLC)
    "unit_id",  # Modbus unit identifier
    "function_code",  # 3 read holding registers, 6 write single, 16 write multiple, ...
    "address",  # first register
    "count",  # number of registers
    "values",  # list[int]: registers read (response) or written (request)
    "exception_code",  # 0 = none; 1 illegal function, 2 illegal data address, ...
    "response_ms",  # float
)
VALUES_TYPE = pa.list_(pa.int32())
MODBUS_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("ns", tz="UTC")),
        ("src", pa.string()),
        ("dst", pa.string()),
        ("unit_id", pa.int64()),
        ("function_code", pa.int64()),
        ("address", pa.int64()),
        ("count", pa.int64()),
        ("values", VALUES_TYPE),
        ("exception_code", pa.int64()),
        ("response_ms", pa.float64()),
    ]
)
assert tuple(MODBUS_SCHEMA.names) == MODBUS_COLUMNS

REBUILD = "rebuild with `icslab datasets build`"


def read_traffic(path: str | Path) -> pd.DataFrame:
    """Read modbus.parquet back with the dtypes the simulator wrote."""
    return traffic_to_pandas(pq.read_table(path))


def traffic_to_pandas(table: pa.Table) -> pd.DataFrame:
    """A MODBUS_SCHEMA table as pandas: `values` as an ArrowDtype list column
    (pandas#57411: pandas cannot rebuild it from its own metadata)."""
    return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_list(t) else None)


def labels_hidden(table: pa.Table) -> bool:
    """Whether a scada.parquet table says its dataset's labels are hidden."""
    return (table.schema.metadata or {}).get(HIDDEN_KEY) == HIDDEN_VALUE


def read_attacks(path: Path) -> pd.DataFrame:
    """A labels.csv: attack_id, start, end (UTC, inclusive), kind, targets (a list of tag
    names per attack), description."""
    attacks = read_csv(path, parse_dates=["start", "end"])
    if list(attacks.columns) != list(ATTACK_COLUMNS):
        raise InputError(f"{path}: columns must be {', '.join(ATTACK_COLUMNS)}")
    if attacks.empty:
        return no_attacks()
    attacks["targets"] = [
        [name.strip() for name in str(joined).split(TARGETS_SEPARATOR) if name.strip()]
        for joined in attacks["targets"].fillna("")
    ]
    return attacks


def no_attacks() -> pd.DataFrame:
    """An empty attack table with labels.csv's columns and types."""
    columns = {name: pd.Series(dtype="str") for name in ATTACK_COLUMNS}
    columns["start"] = columns["end"] = pd.Series(dtype="datetime64[us, UTC]")
    columns["targets"] = pd.Series(dtype="object")  # a list of tag names per attack
    return pd.DataFrame(columns)


def attack_labels(index: pd.DatetimeIndex, attacks: pd.DataFrame) -> pd.Series:
    """True at every timestamp of `index` inside an attack of `attacks` (ends inclusive)."""
    labels = pd.Series(False, index=index, name="attack")
    for attack in attacks.itertuples():
        labels.loc[attack.start : attack.end] = True
    return labels


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A dataset's parquet file (or those of its columns); InputError (rebuild it) when
    missing or unreadable."""
    try:
        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; {REBUILD}") from None
    except (OSError, pa.ArrowException) as error:  # truncated or corrupt
        raise InputError(f"{path}: unreadable ({error}); {REBUILD}") from None


def write_mappable(table: pa.Table, path: Path) -> None:
    """`table` as an uncompressed Arrow IPC file in one record batch, so that each
    column is one contiguous range of the file: what `map_table` reads without a copy."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks(), max_chunksize=max(table.num_rows, 1))


@dataclass(frozen=True, eq=False)
class Mapped:
    """A file of `write_mappable`'s, memory-mapped copy-on-write (`map_table`).

    Its pages are the page cache's, shared with every process on the host that maps
    the file, until a process writes into one: that process then gets a private copy
    of that page only, and the file never changes. So participants can change a
    frame of it like any other, and what they do not change costs them nothing.
    """

    table: pa.Table  # the file's table; its buffers lie in `pages`
    pages: np.ndarray  # the whole mapping, as writable bytes

    def column(self, name: str) -> Any:
        """A column for a DataFrame, with the dtype pandas gives it from the parquet
        export: numbers and timestamps as writable numpy views of the mapping (no copy;
        a UTC timestamp is localised, a copy of 8 bytes a row), lists as Arrow-backed
        arrays of it (ArrowDtype) and strings as pandas' Arrow-backed `str`."""
        chunked = self.table.column(name)
        if pa.types.is_list(chunked.type):
            return pd.arrays.ArrowExtensionArray(chunked)
        span = self._span(chunked)
        if span is None:
            return chunked.to_pandas()
        start, dtype = span
        view = self.pages[start : start + len(chunked) * dtype.itemsize].view(dtype)
        if pa.types.is_timestamp(chunked.type) and chunked.type.tz:
            return pd.DatetimeIndex(view).tz_localize(chunked.type.tz)
        return view

    def _span(self, chunked: pa.ChunkedArray) -> tuple[int, np.dtype] | None:
        """Where a numeric column without nulls starts in the mapping, and its numpy
        dtype; None when it cannot be a view of it."""
        if chunked.num_chunks != 1 or chunked.null_count:
            return None
        array = chunked.chunk(0)
        kind = array.type
        if pa.types.is_timestamp(kind):
            dtype = np.dtype(f"datetime64[{kind.unit}]")
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            dtype = np.dtype(kind.to_pandas_dtype())
        else:
            return None
        start = (
            array.buffers()[1].address
            - self.pages.__array_interface__["data"][0]
            + array.offset * dtype.itemsize
        )
        if start < 0 or start + len(array) * dtype.itemsize > len(self.pages):
            return None  # not in the mapping: Arrow copied it
        return start, dtype

    def _runs(self, names: list[str]) -> list[list[str]]:
        """`names` cut into runs of columns that lie back to back in the mapping with
        one numeric dtype (each run can be one 2-D view), and single other columns."""
        runs: list[list[str]] = []
        previous_end, previous_dtype = -1, None
        for name in names:
            chunked = self.table.column(name)
            span = self._span(chunked) if not pa.types.is_timestamp(chunked.type) else None
            if span is None:
                runs.append([name])
                previous_end, previous_dtype = -1, None
                continue
            start, dtype = span
            if start == previous_end and dtype == previous_dtype:
                runs[-1].append(name)
            else:
                runs.append([name])
            previous_end, previous_dtype = start + len(chunked) * dtype.itemsize, dtype
        return runs

    def _block(self, run: list[str]) -> pd.DataFrame:
        """One run of `_runs` as a DataFrame of one 2-D block viewing the mapping."""
        if len(run) == 1:
            return pd.DataFrame({run[0]: self.column(run[0])}, copy=False)
        first = self.table.column(run[0])
        span = self._span(first)
        assert span is not None  # _runs only groups columns that have one
        start, dtype = span
        size = len(run) * len(first) * dtype.itemsize
        values = self.pages[start : start + size].view(dtype).reshape(len(run), len(first))
        return pd.DataFrame(values.T, columns=run, copy=False)

    def frame(self, index: str | None = None) -> pd.DataFrame:
        """The table as a DataFrame, indexed by its timestamp column `index` if given.

        Numeric columns that lie back to back in the file with one dtype (the 63 tags
        of a week) are one 2-D block viewing the mapping: what pandas would otherwise
        consolidate into a private copy of the whole week (`resample`, `to_numpy`, a
        detector's `fit`) it then reads in place."""
        names = [name for name in self.table.column_names if name != index]
        parts = [self._block(run) for run in self._runs(names)]
        frame = (
            pd.concat(parts, axis=1) if parts else pd.DataFrame(index=range(self.table.num_rows))
        )
        if index:
            frame.index = pd.Index(self.column(index), name=index)
        return frame


def map_table(path: Path) -> Mapped:
    """Memory-map a file of `write_mappable`'s (see `Mapped`). InputError (rebuild it)
    when missing or unreadable."""
    try:
        with open(path, "rb") as file:
            pages = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY)
        table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(pages))).read_all()
    except FileNotFoundError:
        raise InputError(f"{path}: missing; {REBUILD}") from None
    except (OSError, ValueError, pa.ArrowException) as error:  # truncated, corrupt, empty
        raise InputError(f"{path}: unreadable ({error}); {REBUILD}") from None
    return Mapped(table, np.frombuffer(pages, dtype=np.uint8))


def read_csv(path: Path, **options) -> pd.DataFrame:
    """A dataset's CSV file; InputError (rebuild it) when missing."""
    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; {REBUILD}") from None
