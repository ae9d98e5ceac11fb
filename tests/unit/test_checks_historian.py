"""Self-checks of 01-historian: right answers pass, typical wrong ones get a hint."""

import numpy as np
import pandas as pd
import pytest

from icslab.checks import Hint
from icslab.checks.historian import bad_tags, drift, hourly_volume, levels, outage
from icslab.data import load_plant, to_wide

LEVELS = ["LIT101", "LIT401", "LIT501", "LIT502"]


@pytest.fixture(scope="module")
def plant():
    return load_plant("sample-train")


@pytest.fixture(scope="module")
def long(plant):
    return plant.historian()


def tags_with(long, *qualities) -> list[str]:
    return sorted(long.loc[long["quality"].isin(qualities), "tag"].astype(str).unique())


# --- bad_tags ----------------------------------------------------------------


def test_bad_tags_accepts_the_tags_with_bad_rows_in_any_container(plant, long):
    expected = tags_with(long, "Bad")
    assert expected  # the sample has a sensor fault
    bad_tags(expected, plant=plant)
    bad_tags(set(expected), plant=plant)
    bad_tags(long.loc[long["quality"] == "Bad", "tag"].value_counts(), plant=plant)


def test_bad_tags_refuses_every_tag_that_is_not_good(plant, long):
    with pytest.raises(Hint, match="keep only 'Bad'"):
        bad_tags(tags_with(long, "Bad", "Uncertain", "Substituted"), plant=plant)


def test_bad_tags_refuses_missing_extra_and_unknown_tags(plant, long):
    expected = tags_with(long, "Bad")
    with pytest.raises(Hint, match="missing"):
        bad_tags(expected[1:], plant=plant)
    with pytest.raises(Hint, match="never have"):
        bad_tags([*expected, "LIT101"], plant=plant)
    with pytest.raises(Hint, match="not tags"):
        bad_tags([*expected, "LIT999"], plant=plant)


def test_bad_tags_wants_a_list_not_a_string(plant, long):
    with pytest.raises(Hint, match="list of tag names"):
        bad_tags(tags_with(long, "Bad")[0], plant=plant)


# --- levels ------------------------------------------------------------------


@pytest.fixture(scope="module")
def window(long):
    start = long["timestamp"].min().ceil("h") + pd.Timedelta(hours=2, minutes=5)
    return start, start + pd.Timedelta(hours=1) - pd.Timedelta(seconds=1)


@pytest.fixture(scope="module")
def pivoted(long, window):
    start, end = window
    part = long[
        long["timestamp"].between(start - pd.Timedelta(minutes=10), end) & long["tag"].isin(LEVELS)
    ]
    return part.assign(tag=part["tag"].astype(str)).pivot(
        index="timestamp", columns="tag", values="value"
    )


def check_levels(answer, plant, window):
    start, end = window
    levels(answer, plant=plant, tags=LEVELS, start=start, end=end)


def test_levels_accepts_pivot_then_forward_fill(plant, pivoted, window):
    grid = pd.date_range(*window, freq="1s", name="timestamp")
    right = pivoted.reindex(pivoted.index.union(grid)).ffill().reindex(grid)
    check_levels(right, plant, window)
    check_levels(right[LEVELS[::-1]], plant, window)  # any column order
    # The last value stored within each second is also fine (within the deadband).
    check_levels(pivoted.resample("1s").last().ffill().reindex(grid).ffill(), plant, window)


def test_levels_accepts_to_wide(plant, long, window):
    rows = long[long["tag"].isin(LEVELS)]
    wide = to_wide(rows.assign(tag=rows["tag"].astype(str)), start=window[0], end=window[1])
    check_levels(wide, plant, window)


def test_levels_refuses_a_pivot_without_forward_fill(plant, pivoted, window):
    grid = pd.date_range(*window, freq="1s", name="timestamp")
    with pytest.raises(Hint, match="empty"):
        check_levels(pivoted.reindex(grid), plant, window)


def test_levels_refuses_a_forward_fill_that_forgets_the_value_before_start(plant, pivoted, window):
    grid = pd.date_range(*window, freq="1s", name="timestamp")
    inside = pivoted.loc[window[0] :]
    with pytest.raises(Hint, match="stored before `start`"):
        check_levels(inside.reindex(inside.index.union(grid)).ffill().reindex(grid), plant, window)


def test_levels_refuses_a_backward_fill(plant, pivoted, window):
    grid = pd.date_range(*window, freq="1s", name="timestamp")
    filled = pivoted.reindex(pivoted.index.union(grid)).bfill().reindex(grid).ffill()
    with pytest.raises(Hint, match="differ"):
        check_levels(filled, plant, window)


def test_levels_refuses_wrong_columns_rows_and_time_zone(plant, pivoted, window):
    grid = pd.date_range(*window, freq="1s", name="timestamp")
    right = pivoted.reindex(pivoted.index.union(grid)).ffill().reindex(grid)
    with pytest.raises(Hint, match="columns"):
        check_levels(right[LEVELS[:3]], plant, window)
    with pytest.raises(Hint, match="both included"):
        check_levels(right.iloc[:-1], plant, window)
    with pytest.raises(Hint, match="time zone"):
        check_levels(right.tz_localize(None), plant, window)
    with pytest.raises(Hint, match="DataFrame"):
        check_levels(right["LIT101"], plant, window)


# --- hourly_volume -----------------------------------------------------------


@pytest.fixture(scope="module")
def flow(long):
    rows = long[long["tag"].isin(["FIT401", "LIT101"])]  # as the notebook's week table
    return to_wide(rows.assign(tag=rows["tag"].astype(str)))["FIT401"]


def test_hourly_volume_accepts_the_mean_or_the_sum_over_3600(plant, flow):
    hourly_volume(flow.resample("1h").mean(), plant=plant)
    hourly_volume(flow.resample("1h").sum() / 3600, plant=plant)
    hourly_volume(flow.resample("1h").mean().to_frame(), plant=plant)


def test_hourly_volume_accepts_the_scada_flow(plant):
    hourly_volume(plant.features["FIT401"].resample("1h").mean(), plant=plant)


@pytest.mark.parametrize(
    ("aggregation", "hint"),
    [("sum", "1/3600"), ("max", "peak"), ("last", "one instant")],
)
def test_hourly_volume_refuses_other_aggregations(plant, flow, aggregation, hint):
    with pytest.raises(Hint, match=hint):
        hourly_volume(flow.resample("1h").agg(aggregation), plant=plant)


def test_hourly_volume_refuses_seconds_and_plain_numbers(plant, flow):
    with pytest.raises(Hint, match="one value per hour"):
        hourly_volume(flow, plant=plant)
    with pytest.raises(Hint, match="Series"):
        hourly_volume(float(flow.mean()), plant=plant)
    with pytest.raises(Hint, match="indexed by time"):
        hourly_volume(flow.resample("1h").mean().reset_index(drop=True), plant=plant)


# --- outage ------------------------------------------------------------------


@pytest.fixture(scope="module")
def silence(long):
    stamps = long["timestamp"].drop_duplicates().sort_values().reset_index(drop=True)
    after = stamps.diff().idxmax()
    return stamps[after - 1], stamps[after]


def test_outage_accepts_the_largest_silence_within_seconds(plant, silence):
    start, end = silence
    outage((start, end), plant=plant)
    outage([str(start), str(end)], plant=plant)
    second = pd.Timedelta(seconds=1)
    outage((start + second, end - second), plant=plant)  # "no rows from ... to ..."


def test_outage_refuses_a_one_tag_silence(plant, long):
    heartbeats = long.loc[long["tag"] == "LSP101_LOW", "timestamp"]  # 10 minutes apart
    with pytest.raises(Hint, match="all tags together"):
        outage((heartbeats.iloc[0], heartbeats.iloc[1]), plant=plant)


def test_outage_refuses_reversed_or_shifted_bounds(plant, silence):
    start, end = silence
    with pytest.raises(Hint, match="start comes first"):
        outage((end, start), plant=plant)
    with pytest.raises(Hint, match="the end is off"):
        outage((start, end + pd.Timedelta(minutes=1)), plant=plant)
    with pytest.raises(Hint, match="the start is off"):
        outage((start - pd.Timedelta(minutes=2), end), plant=plant)
    with pytest.raises(Hint, match="two timestamps"):
        outage(end - start, plant=plant)


# --- drift -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(plant, long):
    """The notebook's way: heartbeat offsets of the drifting PLC's quietest tag."""
    plcs = long["tag"].map(plant.tags["plc"]).astype(str)
    off = long["timestamp"] != long["timestamp"].dt.floor("s")
    plc = off.groupby(plcs).mean().idxmax()
    counts = long[plcs == plc]["tag"].astype(str).value_counts()
    stamps = long.loc[long["tag"] == counts.idxmin(), "timestamp"]
    offsets = (stamps - stamps.dt.floor("10min")).dt.total_seconds()
    keep = offsets < 30  # leave out the row written when the historian came back
    days = (stamps - stamps.iloc[0]) / pd.Timedelta(days=1)
    return plc, float(np.polyfit(days[keep], offsets[keep], 1)[0])


def test_drift_accepts_the_fitted_slope(plant, fitted):
    plc, rate = fitted
    assert plc == "PLC3" and 1.5 < rate < 2.2  # the sample's datacard: PLC3, 1.83 s/day
    drift((plc, rate), plant=plant)
    drift([plc.lower(), round(rate, 2)], plant=plant)


def test_drift_refuses_another_plc(plant, fitted):
    with pytest.raises(Hint, match="not that PLC"):
        drift(("PLC1", fitted[1]), plant=plant)


@pytest.mark.parametrize(
    ("factor", "hint"),
    [(-1, "positive"), (7, "per day"), (1 / 24, "per day"), (1 / 86_400, "per day"), (2, "slope")],
)
def test_drift_refuses_wrong_signs_units_and_slopes(plant, fitted, factor, hint):
    plc, rate = fitted
    with pytest.raises(Hint, match=hint):
        drift((plc, rate * factor), plant=plant)


def test_drift_wants_a_pair(plant, fitted):
    with pytest.raises(Hint, match="pair"):
        drift(fitted[0], plant=plant)
    with pytest.raises(Hint, match="number"):
        drift((fitted[0], "1.8"), plant=plant)
