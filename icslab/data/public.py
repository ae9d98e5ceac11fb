"""Loaders for public ICS datasets: BATADAL, SWaT and HAI, as tidy tables.

Every loader returns a `Dataset`: float64 features on a UTC index, labels kept
apart. Bad files raise `InputError` naming the file and the problem.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import pandas as pd

from icslab.errors import InputError

BATADAL_TAGS = (
    *(f"L_T{tank}" for tank in range(1, 8)),
    *(f"{kind}_PU{pump}" for pump in range(1, 12) for kind in ("F", "S")),
    "F_V2",
    "S_V2",
    *("P_J280", "P_J269", "P_J300", "P_J256", "P_J289", "P_J415"),
    *("P_J302", "P_J306", "P_J307", "P_J317", "P_J14", "P_J422"),
)
BATADAL_FLAGS = {1: True, 0: False, -999: None}  # -999: the organisers left the hour unlabelled
# Fixed offsets rather than zone names: neither country has changed offset or
# used daylight saving since the 1980s, and naive local times stay unambiguous.
SWAT_UTC_OFFSET = pd.Timedelta(hours=8)  # Singapore
HAI_UTC_OFFSET = pd.Timedelta(hours=9)  # South Korea
PER_PROCESS_LABELS = ("attack_p1", "attack_p2", "attack_p3")  # hai-20.07 and hai-21.03
COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".zst")


@dataclass(frozen=True, eq=False)
class Dataset:
    """One file of a public dataset.

    features: float64 columns, one per sensor or actuator tag, on a UTC
        `DatetimeIndex` named "timestamp"; never contains labels.
    labels: nullable "boolean" Series named "attack" on the same index: True
        attack, False normal, <NA> unknown (BATADAL's -999). None when the file
        carries no labels (e.g. the BATADAL test set).
    source: the file read.
    """

    features: pd.DataFrame
    labels: pd.Series | None
    source: Path

    @property
    def unknown(self) -> pd.Series | None:
        """True where the label is unknown; None when there are no labels."""
        return None if self.labels is None else self.labels.isna()

    def __repr__(self) -> str:
        rows, columns = self.features.shape
        text = f"Dataset({self.source.name}: {rows} rows x {columns} features"
        if self.labels is not None:
            text += f", {int(self.labels.sum())} attack, {int(self.labels.isna().sum())} unknown"
        return text + ")"


def load_batadal(path: str | Path) -> Dataset:
    """Read a BATADAL CSV (dataset03, dataset04 or the test set)."""
    path = _existing_file(path)
    # dataset04 pads headers and values with a space after each comma: " L_T1".
    frame = _read_csv(path, skipinitialspace=True)
    frame.columns = frame.columns.str.strip()
    _check_batadal_header(frame.columns, path)
    # Simulated data without a time zone: hours are taken as UTC.
    index = _utc_index(frame["DATETIME"], "%d/%m/%y %H", pd.Timedelta(0), path)
    features = _float_features(frame[list(BATADAL_TAGS)], index, path)
    labels = None
    if "ATT_FLAG" in frame:
        flags = pd.to_numeric(frame["ATT_FLAG"], errors="coerce")
        labels = _labels(flags, BATADAL_FLAGS, index, path, "ATT_FLAG")
    return Dataset(features, labels, path)


def load_swat(path: str | Path) -> Dataset:
    """Read a SWaT export (CSV, or XLSX when openpyxl is installed), 2015 conventions.

    ` Timestamp` is Singapore local time, day-first with AM/PM; `Normal/Attack`
    holds "Normal", "Attack" or the release's typo "A ttack".
    """
    path = _existing_file(path)
    if path.suffix.lower() == ".xlsx":
        frame = _read_xlsx_with_header(path, "timestamp")
    else:
        frame = _read_csv(path, header=_header_line(path, "timestamp"), skipinitialspace=True)
    frame.columns = [str(name).strip() for name in frame.columns]
    time_column = _find_column(frame, ("timestamp",), path)
    label_column = _find_column(frame, ("normal/attack",), path, required=False)
    times = frame[time_column]
    if pd.api.types.is_string_dtype(times):
        twelve_hour = str(times.iloc[0]).strip().upper().endswith(("AM", "PM"))
        time_format = "%d/%m/%Y %I:%M:%S %p" if twelve_hour else "%d/%m/%Y %H:%M:%S"
    else:
        time_format = None  # XLSX cells already hold datetimes
    index = _utc_index(times, time_format, SWAT_UTC_OFFSET, path)
    labels = None
    if label_column:
        words = frame[label_column].astype("str").str.replace(r"\s+", "", regex=True).str.lower()
        labels = _labels(words, {"attack": True, "normal": False}, index, path, label_column)
    features = frame.drop(columns=[c for c in (time_column, label_column) if c])
    return Dataset(_float_features(features, index, path), labels, path)


def load_hai(path: str | Path, labels_path: str | Path | None = None) -> Dataset:
    """Read a HAI CSV (hai-20.07 to hai-23.05; .csv.gz works too).

    `timestamp` (or `time`) is Korean local time. Labels come from the file's
    `attack`/`Attack` column or, for releases that ship them apart, from
    `labels_path` (`timestamp,label`). Per-process `attack_P1..P3` are dropped.
    """
    path = _existing_file(path)
    frame = _read_hai_csv(path)
    time_column = _find_column(frame, ("timestamp", "time"), path)
    index = _utc_index(frame[time_column], "ISO8601", HAI_UTC_OFFSET, path)
    label_columns = [c for c in frame if c.lower() in ("attack", "label", *PER_PROCESS_LABELS)]
    label_column = _find_column(frame, ("attack", "label"), path, required=False)
    labels = None
    if label_column:
        labels = _hai_labels(frame[label_column], index, path, label_column)
    if labels_path is not None:
        if label_column:
            raise InputError(
                f"{path}: already has a label column {label_column!r}; "
                f"leave out the separate label file {labels_path}"
            )
        labels = _hai_label_file(_existing_file(labels_path), index, path)
    features = frame.drop(columns=[time_column, *label_columns])
    return Dataset(_float_features(features, index, path), labels, path)


def _hai_labels(column: pd.Series, index: pd.DatetimeIndex, path: Path, name: str) -> pd.Series:
    flags = pd.to_numeric(column, errors="coerce")
    return _labels(flags, {1: True, 0: False}, index, path, name)


def _hai_label_file(path: Path, data_index: pd.DatetimeIndex, data_path: Path) -> pd.Series:
    frame = _read_hai_csv(path)
    time_column = _find_column(frame, ("timestamp", "time"), path)
    label_column = _find_column(frame, ("label", "attack"), path)
    index = _utc_index(frame[time_column], "ISO8601", HAI_UTC_OFFSET, path)
    labels = _hai_labels(frame[label_column], index, path, label_column)
    missing = data_index.difference(index)
    extra = index.difference(data_index)
    if index.has_duplicates or len(missing) or len(extra):
        raise InputError(
            f"{path}: labels do not match {data_path.name}: "
            f"{len(missing)} of its timestamps have no label, "
            f"{len(extra)} labels are for other timestamps, "
            f"{int(index.duplicated().sum())} timestamps are labelled twice"
        )
    return labels.reindex(data_index)


def _check_batadal_header(columns: pd.Index, path: Path) -> None:
    expected = {"DATETIME", *BATADAL_TAGS}
    missing = [name for name in ("DATETIME", *BATADAL_TAGS) if name not in columns]
    unexpected = [name for name in columns if name not in expected and name != "ATT_FLAG"]
    if missing or unexpected:
        raise InputError(
            f"{path}: not the BATADAL header; "
            f"missing: {', '.join(missing) or 'none'}; "
            f"unexpected: {', '.join(unexpected) or 'none'}"
        )


def _labels(
    codes: pd.Series, meaning: dict, index: pd.DatetimeIndex, path: Path, column: str
) -> pd.Series:
    """Map each code to True/False/None (unknown) through `meaning`; refuse other codes."""
    known = codes.isin(list(meaning))
    if not known.all():
        row = int(known.to_numpy().argmin())
        allowed = ", ".join(map(str, meaning))
        raise InputError(
            f"{path}: column {column} must hold {allowed}; "
            f"{int((~known).sum())} rows do not, first {codes.iloc[row]!r} in data row {row + 1}"
        )
    labels = pd.Series(codes.map(meaning).to_numpy(), index=index, name="attack")
    return labels.astype("boolean")


def _utc_index(
    times: pd.Series, time_format: str | None, utc_offset: pd.Timedelta, path: Path
) -> pd.DatetimeIndex:
    if pd.api.types.is_string_dtype(times):
        times = times.str.strip()
    parsed = pd.to_datetime(times, format=time_format, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise InputError(
            f"{path}: {int(bad.sum())} timestamps do not read as {time_format or 'dates'}, "
            f"first {times.iloc[row]!r} in data row {row + 1}"
        )
    index = pd.DatetimeIndex(parsed - utc_offset, name="timestamp")
    return index.tz_localize("UTC")


def _float_features(frame: pd.DataFrame, index: pd.DatetimeIndex, path: Path) -> pd.DataFrame:
    problems = []
    columns = {}
    for name, column in frame.items():
        numbers = pd.to_numeric(column, errors="coerce")
        not_numbers = numbers.isna() & column.notna()
        if not_numbers.any():
            row = int(not_numbers.to_numpy().argmax())
            problems.append(
                f"{path}: column {name} has {int(not_numbers.sum())} values that are not numbers, "
                f"first {column.iloc[row]!r} in data row {row + 1}"
            )
        columns[name] = numbers.to_numpy(dtype="float64")
    features = pd.DataFrame(columns, index=index)
    gaps = features.isna().any(axis=1).to_numpy()
    if gaps.any() and not problems:
        row = int(gaps.argmax())
        empty = features.columns[features.iloc[row].isna()]
        problems.append(
            f"{path}: {int(gaps.sum())} rows have empty cells, first data row {row + 1} "
            f"({', '.join(empty)}): the file looks truncated or damaged"
        )
    if problems:
        raise InputError(*problems)
    return features


@overload
def _find_column(
    frame: pd.DataFrame, names: tuple[str, ...], path: Path, required: Literal[True] = True
) -> str: ...
@overload
def _find_column(
    frame: pd.DataFrame, names: tuple[str, ...], path: Path, required: bool
) -> str | None: ...
def _find_column(
    frame: pd.DataFrame, names: tuple[str, ...], path: Path, required: bool = True
) -> str | None:
    """The first column named like one of `names`, ignoring case."""
    by_lower = {str(column).lower(): column for column in frame.columns}
    for name in names:
        if name in by_lower:
            return by_lower[name]
    if required:
        shown = ", ".join(map(str, frame.columns[:8])) + (", ..." if len(frame.columns) > 8 else "")
        raise InputError(f"{path}: no {' or '.join(names)} column; the header has {shown}")
    return None


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "file not found"
        raise InputError(f"{path}: {problem}")
    return path


def _read_csv(path: Path, **options) -> pd.DataFrame:
    if path.suffix.lower() not in COMPRESSED:
        _check_complete(path)
    try:
        # Only an empty cell is missing; "n/a", "NaN"... get reported by name.
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""], **options)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except (OSError, EOFError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"{path}: cannot read it as CSV: {error}") from None
    if frame.empty:
        raise InputError(f"{path}: has a header but no data rows")
    return frame


def _read_hai_csv(path: Path) -> pd.DataFrame:
    # hai-20.07 separates fields with ';', later releases with ','.
    header = _leading_lines(path, 1)
    separator = ";" if header and ";" in header[0] and "," not in header[0] else ","
    frame = _read_csv(path, sep=separator)
    frame.columns = frame.columns.str.strip()
    return frame


def _check_complete(path: Path) -> None:
    """Refuse an empty file or one cut in the middle of a line."""
    with path.open("rb") as handle:
        if handle.seek(0, 2) == 0:
            raise InputError(f"{path}: the file is empty")
        handle.seek(-1, 2)
        if handle.read(1) != b"\n":
            raise InputError(
                f"{path}: ends in the middle of a line: the file looks truncated; fetch it again"
            )


def _leading_lines(path: Path, count: int) -> list[str]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
            return [line for line, _ in zip(handle, range(count), strict=False)]
    except (OSError, EOFError) as error:
        raise InputError(f"{path}: cannot read it: {error}") from None


def _header_line(path: Path, first_column: str, search: int = 10) -> int:
    """Some exports put a row of stage names above the header: find the header."""
    lines = _leading_lines(path, search)
    if not lines:
        raise InputError(f"{path}: the file is empty")
    for number, line in enumerate(lines):
        if first_column in (cell.strip().lower() for cell in line.split(",")):
            return number
    raise InputError(f"{path}: no {first_column} column in the first {search} lines")


def _read_xlsx_with_header(path: Path, first_column: str, search: int = 10) -> pd.DataFrame:
    try:
        sheet = pd.read_excel(path, header=None)
    except ImportError:
        raise InputError(
            f"{path}: reading .xlsx needs the openpyxl package; save the sheet as CSV instead"
        ) from None
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read it as a spreadsheet: {error}") from None
    for number in range(min(search, len(sheet))):
        cells = [str(cell).strip().lower() for cell in sheet.iloc[number]]
        if first_column in cells:
            frame = sheet.iloc[number + 1 :].reset_index(drop=True)
            frame.columns = sheet.iloc[number]
            if frame.empty:
                raise InputError(f"{path}: has a header but no data rows")
            return frame.infer_objects()
    raise InputError(f"{path}: no {first_column} column in the first {search} rows")
