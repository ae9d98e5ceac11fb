"""The Modbus log: HMI polls that decode to the scada data, writes, attacks merged."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sim_fixtures import ATTACKER, START, synthetic_simulation

from icslab.formats import MODBUS_COLUMNS, read_traffic
from icslab.sim.modbus import scan_traffic, to_registers, traffic_frame, write_traffic

SEED = 2
POLL = 2.0


@pytest.fixture(scope="module")
def sim():
    return synthetic_simulation(seconds=3600)


@pytest.fixture(scope="module")
def log(sim):
    from icslab.sim.modbus import export_modbus

    return export_modbus(sim, np.random.default_rng(SEED), poll_seconds=POLL)


def register_matrix(rows: pd.DataFrame) -> np.ndarray:
    """The `values` lists of rows that all hold the same number of registers."""
    flat = pa.chunked_array(pa.array(rows["values"])).combine_chunks().flatten().to_numpy()
    return flat.reshape(len(rows), -1)


def polls_of(sim, log, plc) -> pd.DataFrame:
    return log[(log["src"] == sim.network.hmi) & (log["dst"] == sim.network.plcs[plc])]


def test_columns_and_dtypes(log):
    assert tuple(log.columns) == MODBUS_COLUMNS
    dtypes = log.dtypes.astype(str).to_dict()
    assert dtypes["timestamp"] == "datetime64[ns, UTC]"
    assert dtypes["src"] == dtypes["dst"] == "str"
    for column in ("unit_id", "function_code", "address", "count", "exception_code"):
        assert dtypes[column] == "int64"
    assert log["values"].dtype == pd.ArrowDtype(pa.list_(pa.int32()))
    assert dtypes["response_ms"] == "float64"
    assert log["timestamp"].is_monotonic_increasing


def test_hmi_polls_each_plc_once_per_period(sim, log):
    periods = int(len(sim.scada) / POLL)
    offsets = []
    for plc in ("PLC1", "PLC2", "PLC3"):
        polls = polls_of(sim, log, plc)
        assert (polls["function_code"] == 3).all()
        assert (polls["unit_id"] == sim.network.unit_ids[plc]).all()
        slot = ((polls["timestamp"] - START) / pd.Timedelta(seconds=POLL)).astype(int)
        assert slot.tolist() == list(range(periods))
        offsets.append(((polls["timestamp"] - START).dt.total_seconds() % POLL).median())
    assert offsets == sorted(offsets) and len(set(np.round(offsets, 1))) == 3  # staggered
    ms = log["response_ms"]
    assert 2 < ms.median() < 15 and ms.max() < 1000 and (ms > 0).all()


def test_poll_values_decode_to_the_scada_values(sim, log):
    scada = sim.scada.set_index("timestamp")
    for plc in ("PLC1", "PLC2", "PLC3"):
        polls = polls_of(sim, log, plc)
        tags = [t for t in sim.tags if t.plc == plc]
        address = min(t.register for t in tags)
        assert (polls["address"] == address).all()
        assert (polls["count"] == max(t.register for t in tags) - address + 1).all()
        registers = register_matrix(polls)
        at_poll = scada.reindex(polls["timestamp"].dt.floor("1s"))
        for tag in tags:
            decoded = registers[:, tag.register - address] / tag.scale
            error = np.abs(decoded - at_poll[tag.name].to_numpy())
            assert error.max() <= 0.5 / tag.scale + 1e-9, tag.name


def test_setpoint_changes_come_from_the_engineering_workstation(sim, log):
    writes = log[log["src"] == sim.network.engineering]
    assert (writes["function_code"] == 6).all() and (writes["count"] == 1).all()
    attack = sim.attacks[0]
    expected = []
    for tag in (t for t in sim.tags if t.kind == "setpoint"):
        column = sim.scada.set_index("timestamp")[tag.name]
        changes = column[column.diff().fillna(0) != 0]
        for when, value in changes.items():
            if attack.start <= when <= attack.end and tag.name in attack.targets:
                continue  # the attacker's write, not the engineer's
            register = int(to_registers([value], tag.scale)[0])
            expected.append((when, sim.network.plcs[tag.plc], tag.register, register))
    landed = [
        (row.timestamp.ceil("1s"), row.dst, row.address, row.values[0])
        for row in writes.itertuples()
    ]
    assert sorted(landed) == sorted(expected)
    assert len(expected) >= 3


def test_attack_traffic_is_merged_in_time_order(sim, log):
    from_attacker = log[log["src"] == ATTACKER].reset_index(drop=True)
    pd.testing.assert_frame_equal(from_attacker, sim.attack_traffic)
    first = from_attacker["timestamp"].iloc[0]
    assert log.loc[log["timestamp"] < first, "src"].eq(sim.network.hmi).any()
    assert log.loc[log["timestamp"] > first, "src"].eq(sim.network.hmi).any()


def test_same_seed_same_log(sim, log):
    from icslab.sim.modbus import export_modbus

    pd.testing.assert_frame_equal(export_modbus(sim, np.random.default_rng(SEED), POLL), log)


def test_parquet_round_trip(log, tmp_path):
    path = tmp_path / "modbus.parquet"
    log.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_traffic(path), log)


def test_scan_reads_mapped_registers_and_gets_exceptions_beyond():
    rng = np.random.default_rng(0)
    scan = scan_traffic(
        START,
        ATTACKER,
        "10.10.2.11",
        1,
        range(98, 104),
        rng,
        registers={100: 7, 101: 8, 102: 9},
        count=2,
    )
    assert scan["function_code"].tolist() == [43, 3, 3, 3, 3, 3, 3]
    assert scan["timestamp"].is_monotonic_increasing
    reads = scan.iloc[1:]
    assert reads["exception_code"].tolist() == [2, 2, 0, 0, 2, 2]
    assert [list(v) for v in reads["values"]] == [[], [], [7, 8], [8, 9], [], []]
    assert tuple(scan.columns) == MODBUS_COLUMNS


def test_write_traffic_shapes():
    rng = np.random.default_rng(0)
    times = START + pd.to_timedelta([1, 2], unit="s")
    single = write_traffic(times, ATTACKER, "10.10.2.12", 2, 6, 105, [10, 20], rng)
    assert [list(v) for v in single["values"]] == [[10], [20]]
    multiple = write_traffic(times, ATTACKER, "10.10.2.12", 2, 16, 100, [[1, 2, 3]] * 2, rng)
    assert multiple["count"].tolist() == [3, 3]
    with pytest.raises(ValueError):
        write_traffic(times, ATTACKER, "10.10.2.12", 2, 6, 100, [[1, 2]] * 2, rng)
    frame = traffic_frame(times, ATTACKER, "10.10.2.12", 2, 5, 3, 1, [[1], [0]], rng=rng)
    pd.testing.assert_series_equal(frame.dtypes, single.dtypes)
