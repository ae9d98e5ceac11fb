"""Self-checks of 01-historian: quality codes, long to wide, resampling, gaps, clock drift.

Every expected answer is computed from the dataset passed in (`plant`), reading its
historian export afresh, so a participant who changed `long` in place is still checked
against the export itself.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from icslab.checks import Hint, exercise
from icslab.data import to_wide

HEARTBEAT = pd.Timedelta(minutes=10)
OUTAGE_TOLERANCE = pd.Timedelta(seconds=5)
DRIFT_TOLERANCE = 0.05  # relative, on seconds per day


def _names(answer) -> set[str]:
    if isinstance(answer, str | bytes) or not hasattr(answer, "__iter__"):
        raise Hint('answer with a list of tag names, e.g. ["LIT101", "FIT101"]')
    if isinstance(answer, pd.Series) and pd.api.types.is_numeric_dtype(answer.dtype):
        answer = answer.index[answer > 0]  # value_counts(): the tags (with rows) are the index
    if isinstance(answer, dict):
        answer = answer.keys()
    return {str(name) for name in answer}


@exercise("historian.bad_tags")
def bad_tags(answer, *, plant) -> None:
    long = plant.historian(["tag", "quality"])
    names = _names(answer)
    quality = long["quality"]
    expected = set(long.loc[quality == "Bad", "tag"].astype(str))
    not_good = set(long.loc[quality != "Good", "tag"].astype(str))
    if names - set(plant.tags.index):
        raise Hint("some of these names are not tags of the export: check the spelling")
    if names == not_good and names != expected:
        raise Hint("that is every tag with a quality other than Good: keep only 'Bad'")
    if names - expected:
        raise Hint("some of these tags never have a row with quality 'Bad'")
    if expected - names:
        raise Hint("some tags with 'Bad' rows are missing: look at every row of the export")


def _utc(stamp) -> pd.Timestamp:
    stamp = pd.Timestamp(stamp)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@exercise("historian.levels")
def levels(answer, *, plant, tags, start, end) -> None:
    if not isinstance(answer, pd.DataFrame):
        raise Hint("answer with a DataFrame: one column per tag, one row per second")
    tags = [str(tag) for tag in tags]
    columns = [str(column) for column in answer.columns]
    if sorted(columns) != sorted(tags):
        raise Hint(f"the columns must be exactly the tags {', '.join(tags)}")
    answer = answer.set_axis(columns, axis=1)[tags]
    start, end = _utc(start), _utc(end)
    long = plant.historian()
    rows = long[long["tag"].isin(tags) & (long["timestamp"] <= end)]
    expected = to_wide(rows, freq="1s", start=start, end=end)
    expected = expected[tags]

    index = answer.index
    if not isinstance(index, pd.DatetimeIndex):
        raise Hint("the index must hold the timestamps (a DatetimeIndex), one per second")
    if index.tz is None:
        raise Hint("the timestamps lost their time zone: keep them in UTC, like `start`")
    if len(index) != len(expected):
        raise Hint("one row per second from start to end, both included")
    if not index.equals(expected.index):
        raise Hint("the rows must be the seconds from start to end, in order, every 1 s")

    values, wanted = answer.to_numpy(dtype=float), expected.to_numpy()
    if np.isnan(values).any() and not np.isnan(wanted).any():
        if np.isnan(values[0]).any():
            raise Hint(
                "the first seconds are empty: their value was stored before `start`, "
                "keep those rows until after the forward fill"
            )
        raise Hint("some cells are empty: fill each second with the last stored value")
    # Each second holds the last value stored at or before it; taking the last value
    # stored within the second (resample("1s").last(), then ffill) is fine too: it only
    # differs for a PLC whose clock stamps fractions of a second.
    within = to_wide(
        rows.assign(timestamp=rows["timestamp"].dt.floor("s")),
        freq="1s",
        start=start,
        end=end,
    )[tags].to_numpy()
    if not any(np.allclose(values, w, rtol=0, atol=1e-9, equal_nan=True) for w in (wanted, within)):
        raise Hint(
            "some values differ from the historian's: each second holds the last value "
            "stored at or before it (pivot, then forward-fill on the 1-second grid)"
        )


def _series(answer, what: str) -> pd.Series:
    if isinstance(answer, pd.DataFrame) and answer.shape[1] == 1:
        answer = answer.iloc[:, 0]
    if not isinstance(answer, pd.Series):
        raise Hint(f"answer with a pandas Series: {what}")
    if not isinstance(answer.index, pd.DatetimeIndex):
        raise Hint("the Series must be indexed by time (the start of each hour)")
    return answer


@exercise("historian.hourly_volume")
def hourly_volume(answer, *, plant, tag="FIT401") -> None:
    answer = _series(answer, "one volume (m3) per hour")
    long = plant.historian()
    rows = long[long["tag"] == tag]
    flow = to_wide(rows, freq="1s")[tag]
    hours = flow.resample("1h")
    expected = hours.mean()
    complete = hours.count() == hours.size()  # hours with a value every second
    complete &= hours.size() == 3600
    index = answer.index
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    answer = pd.Series(answer.to_numpy(dtype=float), index=index)
    if len(answer) > len(expected) + 1:
        raise Hint("one value per hour: resample the flow to 1 hour")
    if answer.index.has_duplicates or not expected.index[complete].isin(answer.index).all():
        raise Hint("one value per hour, labelled by the start of the hour: resample('1h')")
    given = answer.reindex(expected.index)[complete]
    wanted = expected[complete]
    deadband = float(plant.tags.loc[tag, "deadband"])

    def close(values) -> bool:
        return bool(np.allclose(given, values, rtol=0.01, atol=deadband, equal_nan=False))

    if close(wanted):
        return
    if close(hours.sum()[complete]):
        raise Hint(
            "a sum of 3,600 readings in m3/h is not a volume: each second is 1/3600 of an hour"
        )
    if close(hours.max()[complete]):
        raise Hint("max is the peak flow rate of the hour, not the volume")
    if close(hours.last()[complete]):
        raise Hint("last is the flow at one instant, not what flowed during the hour")
    raise Hint("the volume of an hour is the hour's mean flow (m3/h) times one hour")


def _nanoseconds(stamps: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(stamps).tz_convert("UTC").asi8


def _outage(long: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last timestamp before the longest silence of the export, and the first after."""
    stamps = np.unique(_nanoseconds(long["timestamp"]))
    after = int(np.argmax(np.diff(stamps))) + 1
    return pd.Timestamp(stamps[after - 1], tz="UTC"), pd.Timestamp(stamps[after], tz="UTC")


@exercise("historian.outage")
def outage(answer, *, plant) -> None:
    if isinstance(answer, str | pd.Timedelta) or not hasattr(answer, "__len__"):
        raise Hint("answer with two timestamps: (start, end)")
    if len(answer) != 2:
        raise Hint("answer with two timestamps: (start, end)")
    try:
        start, end = (_utc(stamp) for stamp in answer)
    except (TypeError, ValueError):
        raise Hint("answer with two timestamps: (start, end)") from None
    if end <= start:
        raise Hint("start comes first: the last timestamp before the silence, then the first after")
    expected_start, expected_end = _outage(plant.historian(["timestamp"]))
    if (end - start) <= HEARTBEAT + OUTAGE_TOLERANCE and (
        abs(start - expected_start) > OUTAGE_TOLERANCE or abs(end - expected_end) > OUTAGE_TOLERANCE
    ):
        raise Hint(
            "one tag alone may be silent for up to 10 minutes: look at the timestamps of "
            "all tags together and at the largest step between consecutive ones"
        )
    if abs(start - expected_start) > OUTAGE_TOLERANCE:
        raise Hint("the start is off: the last timestamp before the largest silence")
    if abs(end - expected_end) > OUTAGE_TOLERANCE:
        raise Hint("the end is off: the first timestamp after the largest silence")


def _drift(plant) -> tuple[str, float]:
    """The PLC whose timestamps leave the whole second, and its drift in s/day, fitted on
    the heartbeat rows of its least-stored tag (on the 10-minute marks, plus the drift)."""
    long = plant.historian(["timestamp", "tag"])
    tag = long["tag"].astype("category")
    names = tag.cat.categories.astype(str)
    codes = tag.cat.codes.to_numpy()
    plc_of_code = plant.tags["plc"].reindex(names).astype(str).to_numpy()
    plcs = plc_of_code[codes]
    stamps = _nanoseconds(long["timestamp"])
    off_second = pd.Series(stamps % 1_000_000_000 != 0).groupby(plcs).mean()
    plc = str(off_second.idxmax())
    counts = np.bincount(codes, minlength=len(names))
    counts = np.where(plc_of_code == plc, counts, np.iinfo(counts.dtype).max)
    quiet = stamps[codes == int(np.argmin(counts))]
    _, back = _outage(long)
    quiet = quiet[(quiet < back.value) | (quiet > back.value + 60 * 1_000_000_000)]  # restart
    period = HEARTBEAT.value
    offset = (quiet % period) / 1e9  # seconds after the 10-minute mark
    days = (quiet - quiet[0]) / 86_400e9
    slope, intercept = np.polyfit(days, offset, 1)
    near = np.abs(offset - (slope * days + intercept)) < 1.0  # drop any odd row, fit again
    return plc, float(np.polyfit(days[near], offset[near], 1)[0])


@exercise("historian.drift")
def drift(answer, *, plant) -> None:
    if isinstance(answer, str) or not hasattr(answer, "__len__") or len(answer) != 2:
        raise Hint('answer with a pair: (plc, seconds_per_day), e.g. ("PLC9", 1.0)')
    plc, rate = answer
    expected_plc, expected_rate = _drift(plant)
    if str(plc).strip().upper() != expected_plc:
        raise Hint(
            "not that PLC: group the rows by their tag's PLC and look for timestamps "
            "that are not on a whole second"
        )
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not math.isfinite(rate):
        raise Hint("the second item must be a number: seconds per day")
    rate = float(rate)

    def near(value: float) -> bool:
        return abs(value - expected_rate) <= DRIFT_TOLERANCE * abs(expected_rate)

    if near(rate):
        return
    if near(-rate):
        raise Hint("the clock runs ahead: its offset grows, so the drift is positive")
    if any(near(rate * factor) for factor in (1 / 7, 24, 1440, 86_400)):  # per week, hour...
        raise Hint("express the drift in seconds per day: time in days on the x axis")
    raise Hint(
        "fit a straight line to the heartbeat offsets from the 10-minute marks "
        "against the time in days; the slope is the drift"
    )
