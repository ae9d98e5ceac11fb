"""Turn the historian's long table into one column per tag on a regular time grid.

    long = pd.read_parquet("historian.parquet")
    wide = to_wide(long, freq="1s", start="2025-03-03 08:00", end="2025-03-03 09:00")

The historian stores a value only when it changes (by more than the tag's deadband),
so each grid point takes the last value stored at or before it. Rows with quality
"Bad" become NaN until the tag's next stored value. Every tag is stored at least every
10 minutes, so a longer silence (`max_gap`) is a gap in the historian and stays NaN
instead of repeating an old value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from icslab.errors import InputError


def to_wide(
    long: pd.DataFrame,
    freq: str = "1s",
    start=None,
    end=None,
    max_gap: str | pd.Timedelta | None = "11min",
    tags: Sequence[str] | None = None,
    dtype: str | np.dtype = "float64",
) -> pd.DataFrame:
    """One column per tag on a UTC grid (index "timestamp") from `start` to `end`
    (default: the table's first to last timestamp), every `freq`.

    `tags` keeps only those columns, in that order (default: every tag that has
    rows in the table, sorted, or in category order for a categorical `tag`
    column: a filtered table is taken as it comes, and the categories it no
    longer has rows for make no column). `dtype`
    "float32" halves the table and keeps 7 significant digits: more than any
    tag of a 16-bit register holds."""
    index = _utc(long["timestamp"])
    start = _utc([start])[0] if start is not None else index.min()
    end = _utc([end])[0] if end is not None else index.max()
    grid = pd.date_range(start.floor(freq), end, freq=freq, name="timestamp", unit="ns")
    stamps = index.asi8

    tag = long["tag"]
    if tags is not None:
        tag = _only(tag, list(tags))
    elif isinstance(tag.dtype, pd.CategoricalDtype):  # a filtered table keeps every category
        tag = tag.cat.remove_unused_categories()
    if isinstance(tag.dtype, pd.CategoricalDtype):  # asked-for tags: a column even without rows
        codes, names = tag.cat.codes.to_numpy(), tag.cat.categories
    else:
        codes, names = pd.factorize(tag, sort=True)
    values = long["value"].to_numpy(dtype=np.float64, copy=True)
    values[(long["quality"] == "Bad").to_numpy()] = np.nan
    order = np.lexsort((stamps, codes))  # by tag, then time
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    limit = pd.Timedelta(max_gap).value if max_gap is not None else np.iinfo(np.int64).max

    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise InputError(f"dtype {dtype}: to_wide needs a float dtype (float64 or float32)")
    wide = np.empty((len(grid), len(names)), dtype=dtype, order="F")  # pandas keeps columns
    for k in range(len(names)):
        rows = order[bounds[k] : bounds[k + 1]]
        wide[:, k] = _as_of(stamps[rows], values[rows], grid.asi8, limit)
    return pd.DataFrame(wide, index=grid, columns=pd.Index(names, dtype=str), copy=False)


def _only(tag: pd.Series, wanted: list[str]) -> pd.Series:
    """The tag column as a categorical of `wanted` (other rows become missing: code -1,
    which sorts before every kept tag and so is never read)."""
    if isinstance(tag.dtype, pd.CategoricalDtype):
        known = set(tag.cat.categories)
        kept = tag.cat.set_categories(wanted)
    else:
        known = set(tag.unique())
        kept = tag.where(tag.isin(wanted)).astype(pd.CategoricalDtype(wanted))
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise InputError(f"tags not in the historian table: {', '.join(unknown)}")
    return kept


def _as_of(stamps: np.ndarray, values: np.ndarray, grid: np.ndarray, limit: int) -> np.ndarray:
    """The last value stored at or before each grid time, if not older than `limit` ns."""
    if not len(stamps):
        return np.full(len(grid), np.nan)
    last = np.searchsorted(stamps, grid, side="right") - 1
    fresh = (last >= 0) & (grid - stamps[np.maximum(last, 0)] <= limit)
    return np.where(fresh, values[last], np.nan)


def _utc(stamps) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(stamps)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("ns")
