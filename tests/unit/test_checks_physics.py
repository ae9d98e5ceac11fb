"""Self-checks of 02-physics: right answers pass, typical wrong ones get a hint."""

import numpy as np
import pandas as pd
import pytest

from icslab.checks import Hint
from icslab.checks.physics import alarms, pump_rules, t401_invariant, t501_area
from icslab.detect import Invariant, InvariantDetector, Rule, RuleDetector
from icslab.sim.waterworks import AREA, TANK_FLOWS

# --- t501_area ---------------------------------------------------------------


def estimated_area(frame, level, inflow, outflow) -> float:
    net = ((frame[inflow] - frame[outflow]) / 3600).resample("10min").sum()
    tank = frame[level].resample("10min")
    change = tank.last() - tank.first()
    return float((net * change).sum() / (change**2).sum())


def test_t501_area_accepts_the_estimate_from_the_data_and_the_datacard(train):
    estimate = estimated_area(train.features, "LIT501", "FIT501", "FIT503")
    t501_area(estimate, plant=train)
    t501_area(AREA["T501"], plant=train)
    t501_area(round(estimate), plant=train)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (1 / AREA["T501"], "level per volume"),
        (AREA["T501"] * 3600, "units"),
        (AREA["T501"] / 3600, "units"),
        (-AREA["T501"], "inflow minus outflow"),
        (AREA["T101"], "slope"),
    ],
)
def test_t501_area_refuses_inverted_unit_sign_and_other_tank_mistakes(train, wrong, hint):
    with pytest.raises(Hint, match=hint):
        t501_area(wrong, plant=train)


@pytest.mark.parametrize("wrong", ["120", None, float("nan"), True])
def test_t501_area_wants_a_number(train, wrong):
    with pytest.raises(Hint, match="number"):
        t501_area(wrong, plant=train)


# --- t401_invariant ----------------------------------------------------------

GAIN = 1 / (3600 * AREA["T401"])


def test_t401_invariant_accepts_the_helper_and_a_hand_written_balance(train):
    helper = Invariant.mass_balance(
        "LIT401", ["FIT301"], ["FIT302", "FIT401"], area=AREA["T401"], window=600
    )
    t401_invariant(helper, plant=train)
    t401_invariant(
        Invariant.mass_balance("LIT401", "FIT301", ["FIT401", "FIT302"], area=400, window=120),
        plant=train,
    )
    scaled = Invariant(  # the same balance in m3: area * level change - volumes
        "by hand",
        change={"LIT401": 3600 * AREA["T401"]},
        total={"FIT301": -1.0, "FIT302": 1.0, "FIT401": 1.0},
        window=300,
    )
    t401_invariant(scaled, plant=train)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (
            Invariant.mass_balance("LIT401", ["FIT301"], ["FIT401"], area=400.0, window=600),
            "flow is missing",
        ),
        (
            Invariant.mass_balance("LIT401", ["FIT302", "FIT401"], ["FIT301"], area=400.0),
            "directions",
        ),
        (
            Invariant.mass_balance("LIT401", ["FIT301"], ["FIT302", "FIT401"], area=150.0),
            "area",
        ),
        (
            Invariant.mass_balance(
                "LIT401", ["FIT301"], ["FIT302", "FIT401"], area=400.0, window=1
            ),
            "window of minutes",
        ),
        (
            Invariant.mass_balance("LIT101", ["FIT301"], ["FIT302", "FIT401"], area=400.0),
            "LIT401",
        ),
        (
            Invariant.mass_balance(
                "LIT401", ["FIT301"], ["FIT302", "FIT401", "FIT501"], area=400.0
            ),
            "own flows",
        ),
        (
            Invariant("values", change={"LIT401": 1.0}, value={"FIT301": -GAIN, "FIT401": GAIN}),
            "total",
        ),
        ("LIT401 = FIT301 - FIT302 - FIT401", "Invariant"),
        # one part wrong while the others are right, not only all of them alike
        (
            Invariant(
                "one flow 3x",
                change={"LIT401": 1.0},
                total={"FIT301": -GAIN, "FIT302": 3 * GAIN, "FIT401": GAIN},
                window=600,
            ),
            "area",
        ),
        (
            Invariant(
                "one flow backwards",
                change={"LIT401": 1.0},
                total={"FIT301": -GAIN, "FIT302": -GAIN, "FIT401": GAIN},
                window=600,
            ),
            "directions",
        ),
    ],
)
def test_t401_invariant_refuses_typical_mistakes(train, wrong, hint):
    with pytest.raises(Hint, match=hint):
        t401_invariant(wrong, plant=train)


# --- pump_rules --------------------------------------------------------------


def starts(frame, commands):
    return (frame[commands].diff() > 0).any(axis=1).to_numpy()


def start_rule(name, commands, level, low, duty):
    return Rule(
        name,
        lambda frame: (
            starts(frame, commands)
            & (frame[level] > frame[low] + 0.02).to_numpy()
            & (frame[duty].diff() == 0).to_numpy()
        ),
    )


RIVER = start_rule(
    "river pump starts high", ["P101_CMD", "P102_CMD"], "LIT101", "LSP101_LOW", "P1_DUTY"
)
HIGH_LIFT = start_rule(
    "high-lift pump starts high",
    ["P401_CMD", "P402_CMD", "P403_CMD"],
    "LIT501",
    "LSP501_LOW",
    "P4_DUTY",
)
BACKWASH = Rule("backwash pump outside a backwash", "P301_RUN == 1 and BW301_STATE != 1")
BOOSTER = Rule("booster above its stop pressure", "P501_RUN == 1 and PIT502 > PSP502 + 1.05")


def test_pump_rules_accepts_rules_for_every_pump_group(train, test):
    pump_rules([RIVER, HIGH_LIFT, BACKWASH, BOOSTER], train=train, test=test)
    pump_rules((HIGH_LIFT, BOOSTER), train=train, test=test)  # the two pumps forced in TEST
    pump_rules([HIGH_LIFT, "P501_RUN == 1 and PIT502 > PSP502 + 1.05"], train=train, test=test)


def test_pump_rules_refuses_rules_that_miss_the_forced_pumps(train, test):
    feedback = Rule("P101 follows", "P101_RUN != P101_CMD and P101_RUN != P101_RUN")
    with pytest.raises(Hint, match="catch 0 of the 2"):
        pump_rules([feedback, RIVER, BACKWASH], train=train, test=test)
    with pytest.raises(Hint, match="catch 1 of the 2"):
        pump_rules([HIGH_LIFT], train=train, test=test)


def test_pump_rules_refuses_a_rule_that_describes_normal_operation(train, test):
    with pytest.raises(Hint, match="in normal operation"):
        pump_rules(
            [HIGH_LIFT, BOOSTER, Rule("river pump on", "P102_RUN == 1")], train=train, test=test
        )


def test_pump_rules_refuses_false_alarms(train, test):
    n = len(test.features)

    def early(frame):  # fires for a minute at the start of TEST, before the first attack
        broken = np.zeros(len(frame), dtype=bool)
        if len(frame) == n:
            broken[10:70] = True
        return broken

    assert not test.labels.iloc[:70].any()
    with pytest.raises(Hint, match="false alarm"):
        pump_rules([HIGH_LIFT, BOOSTER, Rule("early", early)], train=train, test=test)


def test_pump_rules_reports_rules_that_cannot_be_evaluated(train, test):
    with pytest.raises(Hint, match="cannot be evaluated"):
        pump_rules([HIGH_LIFT, Rule("typo", "P999_RUN == 1")], train=train, test=test)
    with pytest.raises(Hint, match="list of Rule"):
        pump_rules(HIGH_LIFT, train=train, test=test)
    with pytest.raises(Hint, match="empty"):
        pump_rules([], train=train, test=test)


# --- alarms ------------------------------------------------------------------


@pytest.fixture(scope="module")
def either(train, test):
    """The notebook's raw alarms: the invariants' or the rules' (no off-delay)."""
    invariants = [
        Invariant.mass_balance(level, ins, outs, area=AREA[name], window=600, name=name)
        for name, (level, ins, outs) in TANK_FLOWS.items()
    ]
    invariants.append(
        Invariant(
            "split", total={"FIT401": 1 / 60, "FIT501": -1 / 60, "FIT502": -1 / 60}, window=60
        )
    )
    physics = InvariantDetector(invariants=invariants, n_sigmas=6).fit(train.features)
    logic = RuleDetector(rules=[RIVER, HIGH_LIFT, BACKWASH, BOOSTER]).fit(train.features)
    raw = (physics.predict(test.features) == 1) | (logic.predict(test.features) == 1)
    return pd.Series(raw, index=test.labels.index)


def test_alarms_accepts_the_raw_alarms_with_an_off_delay(test, either):
    for seconds in (60, 300, 600):
        alarms(either.rolling(seconds, min_periods=1).max().astype(bool), plant=test)
    alarms(either.rolling(300, min_periods=1).max().to_numpy(), plant=test)  # 0/1 floats
    alarms(test.labels.copy(), plant=test)  # a perfect detector


def test_alarms_refuses_an_alarm_that_is_always_on_or_never(test):
    with pytest.raises(Hint, match="inside an attack"):
        alarms(pd.Series(True, index=test.labels.index), plant=test)
    with pytest.raises(Hint, match="no alarm"):
        alarms(pd.Series(False, index=test.labels.index), plant=test)


def test_alarms_refuses_an_off_delay_so_long_it_covers_the_normal_time(test, either):
    with pytest.raises(Hint, match="too long"):
        alarms(either.rolling(4 * 3600, min_periods=1).max().astype(bool), plant=test)


def test_alarms_refuses_flickering_false_alarms(test):
    flicker = test.labels.copy()
    normal = np.flatnonzero(~flicker.to_numpy())
    flicker.iloc[normal[::1800]] = True  # a one-second blip every half hour
    with pytest.raises(Hint, match="false alarms per day"):
        alarms(flicker, plant=test)


def test_alarms_refuses_a_detector_that_catches_one_attack(test):
    one = pd.Series(False, index=test.labels.index)
    first = test.attacks.iloc[0]
    one.loc[first["start"] : first["end"]] = True
    with pytest.raises(Hint, match="of the attacks caught"):
        alarms(one, plant=test)


def test_alarms_keeps_to_the_seconds_of_test(test, either):
    with pytest.raises(Hint, match="one True/False per second"):
        alarms(either.iloc[:-1], plant=test)
    with pytest.raises(Hint, match="index"):
        alarms(either.shift(freq="1s"), plant=test)
    with pytest.raises(Hint, match="True/False"):
        alarms(either.astype(int) * 2, plant=test)
    with pytest.raises(Hint, match="missing"):
        alarms(either.astype(float).where(either.index.second > 0), plant=test)
