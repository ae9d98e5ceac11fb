"""Each column of the PLC loop holds what its name says.

`run_plc_loop` records one plain tuple per second, matched to LOOP_COLUMNS by position
(a hot loop: named records would slow every build). Here every column is checked
against the physics or the PLC logic of its name, on a night that sees everything
move (pump rotations at midnight and 06:00, a backwash, valves apart, every pump
started): a value recorded in the wrong column, or two columns swapped, fails.
"""

import numpy as np
import pandas as pd
import pytest

from icslab.sim.waterworks import (
    AREA,
    BACKWASH_FLOW,
    BACKWASH_SECONDS,
    CASCADE_GAIN,
    CASCADE_SECONDS,
    CLEAR_WELL_TARGET,
    HIGH_LIFT_FLOW,
    HYPOCHLORITE_STRENGTH,
    LOOP_COLUMNS,
    NOISE,
    RIPENING_SECONDS,
    RIVER_PUMP_FLOW,
    SETPOINT_DEFAULTS,
    VALVE_GAIN,
    Manipulations,
    make_inputs,
    run_plc_loop,
)

START = pd.Timestamp("2026-03-02T23:40:00Z")  # a Monday night: midnight and 06:00 inside
HOUR = 3600
N = 7 * HOUR
PUMPS = ("P101", "P102", "P301", "P401", "P402", "P403", "P501")
LAG = 0.2  # each second a flow moves this share of the way to where its pumps drive it
WET = 0.05  # m: below this a tank feeds nothing
# The readings the PLCs act on, and the truth they read (with noise) a second later.
READINGS = ("LIT101", "FIT301", "DPIT301", "LIT401", "AIT401", "LIT501", "LIT502")


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(7)
    manipulations = Manipulations(N)
    manipulations.array("setpoints", "DPSP301")[HOUR : HOUR + 60] = 20.0  # starts a backwash
    manipulations.array("force", "MV501")[2 * HOUR : 3 * HOUR] = 30.0  # valves apart
    manipulations.array("force", "MV502")[2 * HOUR + 1800 : 3 * HOUR + 1800] = 60.0
    manipulations.array("force", "P402_CMD")[4 * HOUR : 4 * HOUR + 300] = 1.0
    manipulations.array("force", "P403_CMD")[4 * HOUR + 600 : 4 * HOUR + 900] = 1.0
    inputs = make_inputs(START, N, rng)
    rows = run_plc_loop(START, inputs, manipulations, rng)
    return pd.DataFrame(rows, columns=LOOP_COLUMNS), inputs


def same(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12)


def now_and_before(loop: pd.DataFrame):
    """(column -> values at seconds 1.., column -> values at seconds 0..n-2)."""
    return (
        {c: loop[c].to_numpy()[1:] for c in LOOP_COLUMNS},
        {c: loop[c].to_numpy()[:-1] for c in LOOP_COLUMNS},
    )


def test_statuses_are_zero_or_one_and_every_state_shows(run):
    loop, _ = run
    for pump in PUMPS:
        for column in (f"{pump}_CMD", f"{pump}_RUN"):
            assert set(loop[column]) == {0.0, 1.0}, column
    assert set(loop["BW301_STATE"]) == {0.0, 1.0, 2.0}
    assert set(loop["P1_DUTY"]) == {1.0, 2.0}
    assert set(loop["P4_DUTY"]) <= {1.0, 2.0, 3.0} and loop["P4_DUTY"].nunique() == 2


def test_pumps_run_one_second_after_their_command(run):
    now, before = now_and_before(run[0])
    for pump in PUMPS:
        assert (now[f"{pump}_RUN"] == before[f"{pump}_CMD"]).all(), pump


def test_duty_pumps_rotate_at_midnight_and_at_six(run):
    loop, _ = run
    seconds = (START - START.normalize()).total_seconds() + np.arange(N)
    day_second = seconds % 86_400
    for duty, at in (("P1_DUTY", 0), ("P4_DUTY", 6 * HOUR)):
        values = loop[duty].to_numpy()
        changed = np.flatnonzero(values[1:] != values[:-1]) + 1
        assert list(day_second[changed]) == [at], duty
    p1, p4 = loop["P1_DUTY"].to_numpy(), loop["P4_DUTY"].to_numpy()
    assert (p1[-1], p4[-1]) == (3 - p1[0], p4[0] % 3 + 1)


def test_backwash_runs_its_pump_for_its_time_then_ripens(run):
    loop, _ = run
    state = loop["BW301_STATE"].to_numpy()
    assert (loop["P301_CMD"].to_numpy() == (state == 1)).all()
    assert (state == 1).sum() == BACKWASH_SECONDS and (state == 2).sum() == RIPENING_SECONDS


def test_flows_follow_their_pumps_and_valves(run):
    now, before = now_and_before(run[0])
    river = (now["P101_RUN"] + now["P102_RUN"]) * RIVER_PUMP_FLOW
    same(now["FIT101"], before["FIT101"] + (river - before["FIT101"]) * LAG)
    filtered = VALVE_GAIN * now["MV301"] * (before["true_LIT101"] > WET)
    same(now["true_FIT301"], before["true_FIT301"] + (filtered - before["true_FIT301"]) * LAG)
    backwash = now["P301_RUN"] * BACKWASH_FLOW * (before["true_LIT401"] > WET)
    same(now["FIT302"], before["FIT302"] + (backwash - before["FIT302"]) * LAG)
    pumps = now["P401_RUN"] + now["P402_RUN"] + now["P403_RUN"]
    lifted = pumps * HIGH_LIFT_FLOW * (before["true_LIT401"] > WET)
    same(now["FIT401"], before["FIT401"] + (lifted - before["FIT401"]) * LAG)


def test_valves_travel_at_their_speed_and_split_the_high_lift_flow(run):
    loop, _ = run
    assert np.abs(np.diff(loop["MV301"])).max() <= 2.0 + 1e-9  # 2 %/s
    for valve in ("MV501", "MV502"):
        assert np.abs(np.diff(loop[valve])).max() <= 1.0 + 1e-9, valve  # 100 s stroke
    share_a, share_b = 0.55 * loop["MV501"], 0.45 * loop["MV502"]
    same(loop["FIT501"], loop["FIT401"] * share_a / (share_a + share_b))
    same(loop["FIT501"] + loop["FIT502"], loop["FIT401"])


def test_tank_levels_follow_their_mass_balance(run):
    loop, inputs = run
    now, before = now_and_before(loop)
    to_level = {tank: 1.0 / (3600.0 * area) for tank, area in AREA.items()}
    rise = {name: now[name] - before[name] for name in ("true_LIT101", "true_LIT401")}
    same(rise["true_LIT101"], (now["FIT101"] - now["true_FIT301"]) * to_level["T101"])
    outflow = now["FIT302"] + now["FIT401"]
    same(rise["true_LIT401"], (now["true_FIT301"] - outflow) * to_level["T401"])
    for tank, level, inflow, demand in (
        ("T501", "true_LIT501", "FIT501", inputs.demand_a),
        ("T502", "true_LIT502", "FIT502", inputs.demand_b),
    ):
        served = np.where(before[level] > WET, demand[1:], 0.0)
        same(now[level] - before[level], (now[inflow] - served) * to_level[tank])


def test_the_filter_clogs_with_flow_and_turbidity_and_backwash_cleans_it(run):
    loop, inputs = run
    now, before = now_and_before(loop)
    rate = 40.0 / (30 * 3600 * 5.0 * 560.0)  # kPa per (NTU * m3/h) second
    clogged = before["true_DPIT301"] + rate * inputs.raw_turbidity[1:] * now["true_FIT301"]
    cleaned = before["true_DPIT301"] + (18.0 - before["true_DPIT301"]) * 0.005
    same(now["true_DPIT301"], np.where(now["BW301_STATE"] == 1, cleaned, clogged))


def test_the_chlorine_residual_follows_the_dose(run):
    now, before = now_and_before(run[0])
    flow, residual = now["true_FIT301"], before["true_AIT401"]
    flowing = flow > 20.0  # else no dosing: the residual decays
    made = 0.9 * HYPOCHLORITE_STRENGTH * 0.2 * now["SIT202"] / np.where(flowing, flow, 1.0)
    decayed = residual - residual * 1e-5
    same(now["true_AIT401"], np.where(flowing, residual + (made - residual) / 1200.0, decayed))
    assert 0.9 < flowing.mean() < 1  # the backwash stops the flow for a while
    stopped = before["true_FIT301"] <= 20.0  # the PLC doses on the flow it last saw
    assert stopped.any() and (now["SIT202"][stopped] == 0).all()
    assert ((now["SIT202"] >= 0) & (now["SIT202"] <= 100)).all()


def test_zone_b_pressure_follows_its_tank_demand_and_booster(run):
    loop, inputs = run
    now, before = now_and_before(loop)
    head = (before["true_LIT502"] + 25.0) / 10.2 - 3e-6 * inputs.demand_b[1:] ** 2
    same(now["true_PIT502"], head + 0.8 * now["P501_RUN"])
    low = SETPOINT_DEFAULTS["PSP502"]
    pressure = loop["PIT502"].to_numpy()
    expected = np.where(pressure < low, 1.0, np.where(pressure > low + 1.0, 0.0, loop["P501_RUN"]))
    assert (loop["P501_CMD"].to_numpy() == expected).all()


def test_production_follows_the_clear_well_every_ten_minutes(run):
    loop, _ = run
    seconds = (START - START.normalize()).total_seconds() + np.arange(N)
    production, level = loop["FSP301"].to_numpy(), loop["LIT401"].to_numpy()
    cascade = (seconds % CASCADE_SECONDS == 0) & (loop["BW301_STATE"].to_numpy() != 1)
    wanted = SETPOINT_DEFAULTS["FSP301"] + CASCADE_GAIN * (CLEAR_WELL_TARGET - level[cascade])
    assert (production[cascade] == np.clip(np.round(wanted / 10.0) * 10.0, 200.0, 850.0)).all()
    held = np.flatnonzero(~cascade)[1:]
    assert (production[held] == production[held - 1]).all()
    assert len(np.unique(production)) > 3


@pytest.mark.parametrize("tag", READINGS)
def test_readings_are_last_seconds_truth_plus_the_sensors_noise(run, tag):
    now, before = now_and_before(run[0])
    noise = now[tag] - before[f"true_{tag}"]
    assert abs(noise.mean()) < 0.1 * NOISE[tag]
    assert noise.std() == pytest.approx(NOISE[tag], rel=0.1)


def test_the_pressure_reading_is_this_seconds_truth_plus_noise(run):
    loop, _ = run
    noise = loop["PIT502"] - loop["true_PIT502"]
    assert abs(noise.mean()) < 0.1 * NOISE["PIT502"]
    assert noise.std() == pytest.approx(NOISE["PIT502"], rel=0.1)
