"""Scenarios: the live plant is the offline simulator, a second at a time.

With the same seed and start, the live plant's registers are the dataset's, second for
second; an attack launched live at a second is the dataset's attack at that offset; a
plant running past midnight carries its state into the next day."""

import pandas as pd
import pytest

from icslab.plant.stepping import LivePlant
from icslab.sim.attacks import Action
from icslab.sim.catalog import DatasetSpec
from icslab.sim.simulate import simulate
from icslab.sim.tags import TAG_NAMES

START = pd.Timestamp("2026-03-02T06:00:00Z")
SEED = 11


def offline(attacks=(), start=START):
    """The dataset of the same seed and start: a day, as the live plant draws its first."""
    spec = DatasetSpec(description="x", start=start.to_pydatetime(), hours=24, seed=SEED,
                       attacks=attacks)  # fmt: skip
    return simulate("x", spec).scada.set_index("timestamp")[TAG_NAMES]


def live(seconds, launches=(), start=START):
    """The live plant's first `seconds`; `launches`: {second: (Action, duration)}."""
    plant, rows, times = LivePlant(SEED, start), [], []
    for second in range(seconds):
        if second in dict(launches):
            plant.launch(*dict(launches)[second])
        time, values = plant.step()
        times.append(time)
        rows.append([values[tag] for tag in TAG_NAMES])
    return pd.DataFrame(rows, index=pd.DatetimeIndex(times).as_unit("ns"), columns=TAG_NAMES), plant


@pytest.fixture(scope="module")
def quiet_day():
    return offline()


def test_with_no_attack_every_register_is_the_datasets_second_for_second(quiet_day):
    frame, _ = live(2 * 3600)
    expected = quiet_day.iloc[: 2 * 3600]
    assert (frame.index == expected.index).all()
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_freq=False,
                                  check_names=False)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "target", "value"),
    [
        ("sensor_constant", "LIT101", 4.9),  # a control sensor: the PLC acts on the lie
        ("sensor_bias", "AIT402", 0.6),  # no PLC reads it: only the recording lies
        ("actuator_force", "P101_CMD", 0.0),
        ("setpoint_tamper", "LSP501_HIGH", 2.0),
        ("sensor_drift", "LIT401", 3.0),
        ("frozen", "AIT402", 0.0),  # recorded only: held at the second before
        ("frozen", "LIT501", 0.0),  # read by PLC4: the high-lift pumps act on a stale level
    ],
)
def test_an_attack_launched_live_is_the_datasets_attack_at_that_second(
    quiet_day, kind, target, value
):
    at, minutes = 1800, 20
    attack = {"kind": kind, "target": target, "value": value, "at": "0d00:30",
              "minutes": minutes}  # fmt: skip
    expected = offline([attack]).iloc[:3600]
    frame, plant = live(3600, {at: (Action(kind, target, value), minutes * 60)})
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_freq=False,
                                  check_names=False)  # fmt: skip
    changed = frame.iloc[at:].ne(quiet_day.iloc[at:3600])
    assert changed[target].any()  # and it did something
    (launched,) = plant.launched
    assert (launched.start, launched.end) == (at, at + minutes * 60)


def test_the_lit101_spoof_stops_the_river_pumps_within_two_seconds():
    at = 600
    frame, _ = live(at + 5, {at: (Action("sensor_constant", "LIT101", 4.9), 600)})
    pumps = frame[["P101_CMD", "P102_CMD"]].sum(axis=1)
    assert pumps.iloc[at - 1] > 0  # running before: the tank was below its stop level
    assert (pumps.iloc[at + 1 :] == 0).all()  # the PLC believes the tank is full


def test_stopping_an_attack_is_the_dataset_with_the_shorter_attack(quiet_day):
    at, stop_at = 600, 900
    plant, rows = LivePlant(SEED, START), []
    for second in range(1500):
        if second == at:
            plant.launch(Action("actuator_force", "P101_CMD", 0.0), 3600)
        if second == stop_at:
            (cut,) = plant.stop()
            assert cut.start == at
        rows.append(plant.step()[1]["P101_CMD"])
    attack = {"kind": "actuator_force", "target": "P101_CMD", "value": 0.0, "at": "0d00:10",
              "minutes": 5}  # fmt: skip
    assert rows == offline([attack])["P101_CMD"].iloc[:1500].tolist()
    (done,) = plant.launched
    assert (done.start, done.end) == (at, stop_at)


def test_a_plant_running_past_midnight_carries_its_state_into_the_next_day():
    before_midnight = pd.Timestamp("2026-03-02T23:50:00Z")
    frame, _ = live(1200, start=before_midnight)
    assert frame.index[-1] == pd.Timestamp("2026-03-03T00:09:59Z")
    levels = frame[["LIT101", "LIT401", "LIT501", "LIT502"]]
    assert levels.diff().abs().max().max() < 0.05  # no jump at midnight: one plant
    assert frame["P1_DUTY"].iloc[599] != frame["P1_DUTY"].iloc[600]  # the midnight rotation


def test_a_replay_launched_live_is_the_datasets_replay():
    at, minutes = 1800, 10
    attack = {"kind": "replay", "conceal": ["LIT101", "AIT402"], "lag_minutes": 20,
              "target": "P101_CMD", "value": 0.0, "at": "0d00:30", "minutes": minutes}  # fmt: skip
    expected = offline([attack]).iloc[:2700]
    replay = Action("replay", "P101_CMD", 0.0, lag_seconds=1200, conceal=("LIT101", "AIT402"))
    frame, _ = live(2700, {at: (replay, minutes * 60)})
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_freq=False,
                                  check_names=False)  # fmt: skip
