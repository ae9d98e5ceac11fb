"""Checking predictions against their target, and the CSV they travel as."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from icslab.capstone.targets import Target
from icslab.errors import InputError


def flags_for(predictions: Any, target: Target) -> np.ndarray:
    """The predictions as an int8 array of 0/1 in the target's row order, or an
    InputError saying what does not line up."""
    n = len(target.index)
    what = f"predictions for {target.dataset}"
    if isinstance(predictions, pd.DataFrame):
        if predictions.shape[1] != 1:
            raise InputError(
                f"{what}: give one column of 0/1 flags (a Series), not a table of "
                f"{predictions.shape[1]} columns"
            )
        predictions = predictions.iloc[:, 0]
    if isinstance(predictions, pd.Series) and isinstance(predictions.index, pd.DatetimeIndex):
        _check_times(predictions.index, target, what)
    values = predictions.to_numpy() if isinstance(predictions, pd.Series) else predictions
    try:
        values = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise InputError(f"{what}: not a sequence of 0/1 flags ({error})") from None
    if values.ndim != 1:
        raise InputError(f"{what}: give one flag per row (1-D), got shape {values.shape}")
    if len(values) != n:
        unit = "hour" if target.is_batadal else "second"
        raise InputError(
            f"{what}: {len(values):,} flags, but {target.dataset} has {n:,} rows (one per {unit})"
        )
    try:
        numbers = pd.Series(values).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError(f"{what}: flags must be 0/1 or True/False") from None
    missing = np.isnan(numbers)
    if missing.any():
        first = int(np.argmax(missing))
        raise InputError(
            f"{what}: {int(missing.sum()):,} flags are missing (NaN), first at "
            f"{target.cells[first]}: decide 0 or 1 for every row (e.g. .fillna(0))"
        )
    bad = (numbers != 0) & (numbers != 1)
    if bad.any():
        first = int(np.argmax(bad))
        raise InputError(
            f"{what}: flags must be 0 or 1; {int(bad.sum()):,} are not, first "
            f"{numbers[first]:g} at {target.cells[first]} (scores? compare them with a threshold)"
        )
    return numbers.astype(np.int8)


def _check_times(index: pd.DatetimeIndex, target: Target, what: str) -> None:
    expected = target.index
    if index.tz is None:
        raise InputError(f"{what}: the index has no time zone; the dataset's times are UTC")
    if index.equals(expected):
        return
    if len(index) < len(expected) and len(index) > 1:
        step = (index[1:] - index[:-1]).median()
        if step > (expected[1] - expected[0]):
            raise InputError(
                f"{what}: one flag every {_span(step)}, but the dataset has a row every "
                f"{_span(expected[1] - expected[0])}: bring them back to its rows, e.g. "
                "flags.reindex(data.features.index, method='ffill').fillna(0)"
            )
    if len(index) == len(expected):
        first = int(np.argmax(index != expected))
        raise InputError(
            f"{what}: the timestamps differ from the dataset's, first at row {first:,} "
            f"({index[first]} instead of {expected[first]})"
        )
    raise InputError(
        f"{what}: {len(index):,} timestamps from {index.min()} to {index.max()}, but "
        f"{target.dataset} has {len(expected):,} from {expected[0]} to {expected[-1]}"
    )


def _span(step: pd.Timedelta) -> str:
    seconds = step.total_seconds()
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


def as_csv(rows: Target, flags: np.ndarray) -> str:
    """The submission file: the dataset's header, then each row's time and flag."""
    lines = (f"{cell},{flag}\n" for cell, flag in zip(rows.cells, flags.tolist(), strict=True))
    return ",".join(rows.columns) + "\n" + "".join(lines)


def read_submission(source: Path | IO[bytes], rows: Target, name: str | None = None) -> np.ndarray:
    """The flags of a submission file, checked against the dataset's rows (InputError
    naming the file and the first problem otherwise, never quoting its contents)."""
    name = name or str(source)
    try:
        table = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError(f"{name}: missing") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError):
        raise InputError(f"{name}: not a CSV file of {','.join(rows.columns)} rows") from None
    header = tuple(str(column).strip() for column in table.columns)
    if header != rows.columns:
        raise InputError(f"{name}: the header must be {','.join(rows.columns)}")
    if len(table) != len(rows.cells):
        raise InputError(f"{name}: {len(table):,} rows, {rows.dataset} has {len(rows.cells):,}")
    times = table.iloc[:, 0].str.strip().to_numpy()
    flags = table.iloc[:, 1].str.strip().to_numpy()
    bad = (times != np.asarray(rows.cells, dtype=object)) | ~np.isin(flags, ["0", "1"])
    if bad.any():
        first = int(np.argmax(bad))
        expected = rows.cells[first]
        raise InputError(f"{name}: line {first + 2} must be {expected},0 or {expected},1")
    return (flags == "1").astype(np.int8)
