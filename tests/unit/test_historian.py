"""The historian export keeps its promises: deadband, heartbeat, quirks, round trip."""

import numpy as np
import pandas as pd
import pytest
from sim_fixtures import synthetic_simulation

from icslab.data.historian import to_wide
from icslab.errors import InputError
from icslab.formats import QUALITIES
from icslab.sim.historian_export import HEARTBEAT, export_historian

SEED = 1


@pytest.fixture(scope="module")
def sim():
    return synthetic_simulation(seconds=7200)


@pytest.fixture(scope="module")
def export(sim):
    return export_historian(sim, np.random.default_rng(SEED))


def scada_series(sim, name) -> pd.Series:
    return sim.scada.set_index("timestamp")[name]


def excluded(export, name, index: pd.DatetimeIndex) -> np.ndarray:
    """Where this tag's history may differ from the scada data: outage and quirks."""
    out = (index >= export.outage[0]) & (index <= export.outage[1])
    for kind in ("bad", "substituted", "stale"):
        for tag, start, end in getattr(export, kind):
            if tag == name:
                out |= (index >= start) & (index <= end)
    return out


def steady_tags(sim, export):
    return [t for t in sim.tags if t.plc != export.drifting_plc]


def rows_of(export, name) -> pd.DataFrame:
    return export.table[export.table["tag"] == name]


def test_table_shape_and_order(sim, export):
    table = export.table
    assert list(table.columns) == ["timestamp", "tag", "value", "quality"]
    assert str(table["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert table["value"].dtype == np.float64
    assert list(table["quality"].cat.categories) == list(QUALITIES)
    assert set(table["tag"].cat.categories) == {t.name for t in sim.tags}
    key = table["timestamp"].astype("int64") * 1000 + table["tag"].cat.codes
    assert key.is_monotonic_increasing
    assert sorted(table["tag"].cat.categories) == list(table["tag"].cat.categories)


def test_unstored_samples_stay_within_the_deadband_of_the_last_stored(sim, export):
    for tag in steady_tags(sim, export):
        rows = rows_of(export, tag.name)
        truth = scada_series(sim, tag.name)
        last = np.searchsorted(rows["timestamp"], truth.index, side="right") - 1
        error = np.abs(rows["value"].to_numpy()[last] - truth.to_numpy())
        error = error[~excluded(export, tag.name, truth.index)]
        assert error.max() <= tag.deadband, tag.name
        if tag.deadband > 0:
            assert len(rows) < len(truth) / 4, f"{tag.name} is not compressed"


def test_only_exceptions_heartbeats_and_quality_changes_are_stored(sim, export):
    t0 = sim.scada["timestamp"].iloc[0]
    for tag in steady_tags(sim, export):
        rows = rows_of(export, tag.name)
        previous = rows.shift()
        sample = (rows["timestamp"] - t0) // pd.Timedelta("1s")
        forced = (
            (sample % (HEARTBEAT // pd.Timedelta("1s")) == 0)
            | (rows["quality"] != previous["quality"])
            | ((previous["timestamp"] < export.outage[0]) & (rows["timestamp"] > export.outage[1]))
        )
        jump = (rows["value"] - previous["value"]).abs() > tag.deadband
        turns_nan = rows["value"].isna() != previous["value"].isna()
        assert (jump | turns_nan | forced).all(), tag.name
        assert (~forced).sum() > (10 if tag.deadband > 0 else 0), tag.name


def test_every_tag_is_stored_at_least_every_heartbeat(sim, export):
    for tag in sim.tags:
        stamps = rows_of(export, tag.name)["timestamp"]
        assert stamps.iloc[0] <= sim.scada["timestamp"].iloc[0] + pd.Timedelta("1s")
        gaps = stamps.diff().iloc[1:]
        across_outage = (stamps.shift().iloc[1:] < export.outage[0]) & (
            stamps.iloc[1:] > export.outage[1]
        )
        assert (gaps[~across_outage] <= HEARTBEAT + pd.Timedelta("1s")).all(), tag.name


def test_outage_has_no_rows_and_every_tag_comes_back(sim, export):
    start, end = export.outage
    assert pd.Timedelta("20min") <= end - start <= pd.Timedelta("60min")
    stamps = export.table["timestamp"]
    assert not ((stamps >= start) & (stamps <= end)).any()
    after = export.table[(stamps > end) & (stamps <= end + pd.Timedelta("1s"))]
    assert set(after["tag"]) == {t.name for t in sim.tags}


def test_drifting_plc_runs_ahead_at_the_documented_rate(sim, export):
    t0 = sim.scada["timestamp"].iloc[0]
    rate = export.drift_seconds_per_day / 86_400
    drifting = [t.name for t in sim.tags if t.plc == export.drifting_plc]
    rows = export.table[export.table["tag"].isin(drifting)]
    true_time = (rows["timestamp"] - (rows["timestamp"] - t0) * rate).dt.round("1s")
    offset = (rows["timestamp"] - true_time).dt.total_seconds()
    expected = (true_time - t0).dt.total_seconds() * rate
    assert np.abs(offset - expected).max() <= 0.001
    assert offset.max() > 0.05
    steady = export.table[~export.table["tag"].isin(drifting)]
    assert (steady["timestamp"] == steady["timestamp"].dt.floor("1s")).all()


def test_quality_codes(sim, export):
    table = export.table
    counts = table["quality"].value_counts()
    assert counts["Good"] > 0.9 * len(table)
    assert (counts[["Bad", "Uncertain", "Substituted"]] > 0).all()
    assert table.loc[table["quality"] == "Bad", "value"].isna().all()
    assert table.loc[table["quality"] != "Bad", "value"].notna().all()
    for tag, start, end in export.substituted:
        rows = rows_of(export, tag)
        entered = rows[(rows["timestamp"] >= start) & (rows["timestamp"] <= end)]
        assert (entered["quality"] == "Substituted").all()
        assert entered["value"].nunique() == 1


def test_stale_periods_repeat_a_value_as_good(sim, export):
    assert export.stale
    for tag, start, end in export.stale:
        rows = rows_of(export, tag)
        frozen = rows[(rows["timestamp"] > start) & (rows["timestamp"] <= end)]
        assert (frozen["quality"] == "Good").all()
        assert frozen["value"].nunique() <= 1
        assert scada_series(sim, tag)[start:end].nunique() > 1  # the plant did move


def test_round_trip_through_to_wide(sim, export):
    wide = to_wide(export.table, end=sim.scada["timestamp"].iloc[-1])
    assert wide.index.name == "timestamp"
    assert str(wide.index.dtype) == "datetime64[ns, UTC]"
    for tag in steady_tags(sim, export):
        truth = scada_series(sim, tag.name)
        got = wide[tag.name].reindex(truth.index)
        keep = ~excluded(export, tag.name, truth.index)
        error = np.abs(got - truth)[keep]
        assert error.notna().all(), tag.name
        assert error.max() <= tag.deadband * (1 + 1e-9), tag.name
    for tag, start, end in export.bad:
        assert wide.loc[start:end, tag].isna().all()


def test_to_wide_grid_and_gaps(export):
    start, end = export.outage
    wide = to_wide(export.table, freq="10s", start=start - pd.Timedelta("1min"), end=end)
    assert (wide.index.to_series().diff().iloc[1:] == pd.Timedelta("10s")).all()
    assert wide.index[0] == (start - pd.Timedelta("1min")).floor("10s")
    assert wide.loc[start + pd.Timedelta("11min") :].isna().all().all()  # no stale fill
    assert wide.iloc[0].notna().any()


def test_same_seed_same_export(sim, export):
    again = export_historian(sim, np.random.default_rng(SEED))
    pd.testing.assert_frame_equal(again.table, export.table)
    assert again.periods().equals(export.periods())
    assert (again.outage, again.drifting_plc) == (export.outage, export.drifting_plc)
    other = export_historian(sim, np.random.default_rng(SEED + 1))
    assert other.outage != export.outage


def test_parquet_round_trip(export, tmp_path):
    path = tmp_path / "historian.parquet"
    export.table.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(path), export.table)


def test_to_wide_accepts_plain_string_columns(export):
    plain = export.table.astype({"tag": str, "quality": str})
    start = export.table["timestamp"].iloc[0]
    window = {"start": start, "end": start + pd.Timedelta("30min")}
    pd.testing.assert_frame_equal(to_wide(plain, **window), to_wide(export.table, **window))


def test_to_wide_takes_a_filtered_categorical_table_as_it_comes(export):
    table = export.table
    assert isinstance(table["tag"].dtype, pd.CategoricalDtype)
    levels = table[table["tag"].isin(["LIT200", "FIT101"])]  # still every category
    wide = to_wide(levels)
    assert list(wide.columns) == ["FIT101", "LIT200"]  # a column per tag with rows, no more
    pd.testing.assert_frame_equal(wide, to_wide(levels.astype({"tag": str})))
    # a tag asked for by name is a column even where the filtered table has no row of it
    assert to_wide(levels, tags=["LIT200", "LIT300"])["LIT300"].isna().all()


def test_to_wide_keeps_only_the_tags_asked_for(export):
    table = export.table
    every = to_wide(table)
    for long in (table, table.astype({"tag": str})):
        two = to_wide(long, tags=["LIT200", "FIT101"])
        assert list(two.columns) == ["LIT200", "FIT101"]
        pd.testing.assert_frame_equal(two, every[["LIT200", "FIT101"]])
    with pytest.raises(InputError, match="tags not in the historian table: NOPE"):
        to_wide(table, tags=["LIT200", "NOPE"])


def test_to_wide_in_float32_holds_the_same_values_in_half_the_memory(export):
    wide = to_wide(export.table, freq="10s")
    narrow = to_wide(export.table, freq="10s", dtype="float32")
    assert (narrow.dtypes == "float32").all()
    assert narrow.memory_usage(index=False).sum() * 2 == wide.memory_usage(index=False).sum()
    # 7 significant digits: within a millionth of each value, gaps still NaN
    np.testing.assert_allclose(narrow.to_numpy(), wide.to_numpy(), rtol=1e-6, equal_nan=True)
    with pytest.raises(InputError, match="float dtype"):
        to_wide(export.table, freq="10s", dtype="int16")
