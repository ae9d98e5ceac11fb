"""The plant obeys its physics when left alone, and every labelled attack shows
where its label says, through the physics unless the attack hides it."""

import numpy as np
import pandas as pd
import pytest

from icslab.data import load_plant
from icslab.sim.tags import BY_NAME
from icslab.sim.waterworks import AREA, SETPOINT_DEFAULTS, TANK_FLOWS

WINDOW = 600  # s: long enough to average out sensor noise


def balance_error(scada: pd.DataFrame, level: str, inflows, outflows, area: float) -> pd.Series:
    """Measured level change minus what the flows say, per 10-minute window (m)."""
    net = sum(scada[f] for f in inflows) - sum(scada[f] for f in outflows)
    predicted = (net / (3600 * area)).rolling(WINDOW).sum()
    measured = scada[level].diff(WINDOW)
    return (measured - predicted).iloc[WINDOW::WINDOW]


@pytest.fixture(scope="module")
def normal(test_runs):
    return test_runs[1].scada


@pytest.fixture(scope="module")
def attacked(test_runs):
    return test_runs[0]


@pytest.mark.parametrize("tank", TANK_FLOWS)
def test_levels_follow_inflow_minus_outflow_in_normal_data(normal, tank):
    level, inflows, outflows = TANK_FLOWS[tank]
    error = balance_error(normal, level, inflows, outflows, AREA[tank])
    # Noise, flow lag and register resolution: a few centimetres over 10 minutes.
    assert error.abs().max() < 0.05, error.abs().describe()


def test_distribution_flow_splits_into_the_two_tanks(normal):
    split = (normal["FIT401"] - normal["FIT501"] - normal["FIT502"]).rolling(60).mean()
    assert split.abs().max() < 10  # m3/h, noise only


def test_pumps_run_only_when_their_logic_says_so(normal):
    for pump in ("P101", "P102", "P301", "P401", "P402", "P403", "P501"):
        run, cmd = normal[f"{pump}_RUN"], normal[f"{pump}_CMD"]
        assert (run.iloc[1:].to_numpy() == cmd.iloc[:-1].to_numpy()).all(), pump
    level = normal["LIT501"]
    starts = (normal[["P401_CMD", "P402_CMD", "P403_CMD"]].diff() > 0).any(axis=1)
    rotation = normal["timestamp"].dt.strftime("%H:%M:%S") == "06:00:00"
    # A high-lift pump starts only when T501 is below LSP501_LOW (noise allowed),
    # or when the duty moves to another pump at 06:00.
    assert (level[starts & ~rotation] < SETPOINT_DEFAULTS["LSP501_LOW"] + 0.02).all()
    river_starts = (normal[["P101_CMD", "P102_CMD"]].diff() > 0).any(axis=1)
    midnight = normal["timestamp"].dt.strftime("%H:%M:%S") == "00:00:00"
    river_levels = normal["LIT101"][river_starts & ~midnight]
    assert (river_levels < SETPOINT_DEFAULTS["LSP101_LOW"] + 0.02).all()


def test_before_the_first_attack_nothing_differs_from_the_untouched_plant(attacked, normal):
    first = attacked.attacks[0].start
    before = attacked.scada["timestamp"] < first
    pd.testing.assert_frame_equal(attacked.scada[before], normal[before])


def test_every_labelled_attack_shows_in_the_data_it_claims_to_touch(attacked, normal):
    traffic = attacked.attack_traffic
    for attack in attacked.attacks:
        inside = (attacked.scada["timestamp"] >= attack.start) & (
            attacked.scada["timestamp"] <= attack.end
        )
        tags = [t for t in attack.targets if t in BY_NAME]
        differs = attacked.scada.loc[inside, tags] != normal.loc[inside, tags]
        changed = [t for t in tags if differs[t].any()]
        if attack.kind == "reconnaissance":
            assert not tags
        else:
            assert changed, f"{attack.attack_id} {attack.kind}: no change in {tags}"
        if attack.kind in ("reconnaissance", "modbus_injection"):
            during = traffic[traffic["timestamp"].between(attack.start, attack.end)]
            assert (during["src"] == "10.10.3.66").sum() > 0, attack.attack_id


def test_manipulations_propagate_through_the_physics(attacked, normal):
    """Forcing the backwash pump (A08, concealed by replay) drains the clear well for real:
    the outflow to distribution later differs, though the replayed readings look normal."""
    replay = next(a for a in attacked.attacks if a.kind == "replay")
    after = attacked.scada["timestamp"].between(replay.start, replay.end + pd.Timedelta(hours=2))
    assert (attacked.scada.loc[after, "FSP301"] != normal.loc[after, "FSP301"]).any()
    # The replayed clear-well level breaks the T401 mass balance while it lasts.
    inside = attacked.scada["timestamp"].between(replay.start, replay.end)
    during = attacked.scada[inside].reset_index(drop=True)
    error = balance_error(during, *TANK_FLOWS["T401"], AREA["T401"])
    assert error.abs().max() > 0.1


def test_some_attacks_stay_inside_every_normal_range(attacked, normal):
    """Subtle ones: a per-tag threshold at the normal min/max never fires on them."""
    subtle = []
    for attack in attacked.attacks:
        inside = attacked.scada["timestamp"].between(attack.start, attack.end)
        tags = [t for t in attack.targets if t in BY_NAME and BY_NAME[t].kind == "sensor"]
        if tags and all(
            normal[t].min() <= attacked.scada.loc[inside, t].min()
            and attacked.scada.loc[inside, t].max() <= normal[t].max()
            for t in tags
        ):
            subtle.append(attack.attack_id)
    assert len(subtle) >= 3, subtle


def test_the_loader_gives_tidy_frames_and_separate_labels(built):
    data = load_plant(built["test"])
    assert isinstance(data.features.index, pd.DatetimeIndex)
    assert str(data.features.index.tz) == "UTC" and data.features.index.name == "timestamp"
    assert (data.features.dtypes == np.float64).all() and "attack" not in data.features
    assert data.labels.dtype == bool and data.labels.index.equals(data.features.index)
    seconds = sum(int((a.end - a.start).total_seconds()) + 1 for a in data.attacks.itertuples())
    assert data.labels.sum() == seconds
