"""Self-checks of 03-statistical: right answers pass, typical wrong ones get a hint."""

import numpy as np
import pandas as pd
import pytest

from icslab import metrics
from icslab.checks import Hint, check
from icslab.checks.statistical import best_alpha, cusum, shortest_hold, sigma_limits
from icslab.detect import CUSUMDetector, EWMADetector, RangeDetector

ALPHAS = [1.0, 0.3, 0.1, 0.03, 0.01]
HOLDS = [0, 1, 2, 5, 10, 15, 30]
TAG, BIAS = "AIT401", 0.01


@pytest.fixture(scope="module")
def sensors(train):
    return train.tags.index[train.tags["kind"] == "sensor"].tolist()


@pytest.fixture(scope="module")
def train10(train, sensors):
    return train.features[sensors].resample("10s").mean()


@pytest.fixture(scope="module")
def test10(test, sensors):
    return test.features[sensors].resample("10s").mean()


@pytest.fixture(scope="module")
def labels10(test):
    return test.labels.resample("10s").max()


@pytest.fixture(scope="module")
def range_alarms(train10, test10):
    alarms = RangeDetector().fit(train10).predict(test10)
    return pd.Series(alarms.astype(bool), index=test10.index)


@pytest.fixture(scope="module")
def trial_context(train, test):
    """The notebook's trial: the first test hour with a bias from minute 20."""
    hour = test.features.iloc[:3600][[TAG]].copy()
    labels = pd.Series(hour.index >= hour.index[0] + pd.Timedelta("20min"), index=hour.index)
    hour.loc[labels, TAG] += BIAS
    return {"train": train.features[[TAG]], "trial": hour, "trial_labels": labels}


def limits(frame, k, ddof=1):
    mean, std = frame.mean(), frame.std(ddof=ddof)
    return pd.DataFrame({"low": mean - k * std, "high": mean + k * std})


# -- sigma_limits


@pytest.mark.parametrize("ddof", [0, 1])
def test_sigma_limits_accepts_mean_plus_minus_four_sigma(train10, ddof):
    sigma_limits(limits(train10, 4, ddof), train=train10)


def test_sigma_limits_rejects_the_wrong_number_of_sigmas(train10):
    for k in (3, 5):
        with pytest.raises(Hint, match="standard deviations"):
            sigma_limits(limits(train10, k), train=train10)


def test_sigma_limits_rejects_limits_learned_on_the_test_data(train10, test10):
    with pytest.raises(Hint, match="training week"):
        sigma_limits(limits(test10, 4), train=train10)


def test_sigma_limits_rejects_swapped_columns_missing_tags_and_other_shapes(train10):
    right = limits(train10, 4)
    with pytest.raises(Hint, match="swapped"):
        sigma_limits(right.rename(columns={"low": "high", "high": "low"}), train=train10)
    with pytest.raises(Hint, match="one row per sensor"):
        sigma_limits(right.iloc[:-1], train=train10)
    with pytest.raises(Hint, match="DataFrame"):
        sigma_limits(right["low"], train=train10)
    with pytest.raises(Hint, match="middle"):  # min/max limits: not centred on the mean
        sigma_limits(pd.DataFrame({"low": train10.min(), "high": train10.max()}), train=train10)


# -- shortest_hold


def hold(alarms, minutes):
    if minutes == 0:
        return alarms
    return alarms.astype(float).rolling(f"{minutes}min").max().astype(bool)


def fewest_false_alarms(alarms, labels):
    per_day = {m: metrics.false_alarms_per_day(labels, hold(alarms, m)) for m in HOLDS}
    return min(m for m in HOLDS if per_day[m] == min(per_day.values()))


def test_shortest_hold_accepts_the_shortest_hold_with_the_fewest_false_alarms(
    range_alarms, labels10
):
    answer = fewest_false_alarms(range_alarms, labels10)
    shortest_hold(answer, alarms=range_alarms, labels=labels10, holds=HOLDS)
    assert answer > 0  # no hold is not the answer


def chattering():
    """One day at 10 s, one attack; in normal time a blip every 3 minutes for an hour."""
    index = pd.date_range("2026-01-01", periods=8640, freq="10s", tz="UTC")
    labels = pd.Series(False, index=index)
    labels.iloc[4000:4100] = True
    alarms = pd.Series(False, index=index)
    alarms.iloc[1000:1360:18] = True
    return alarms, labels


def test_shortest_hold_wants_an_off_delay_longer_than_the_chattering_period():
    alarms, labels = chattering()
    context = {"alarms": alarms, "labels": labels, "holds": HOLDS}
    # 20 blips 3 minutes apart: off-delays of 1 or 2 minutes leave them apart
    assert fewest_false_alarms(alarms, labels) == 5
    shortest_hold(5, **context)
    for too_short in (0, 1, 2):
        with pytest.raises(Hint, match="fewer false alarms"):
            shortest_hold(too_short, **context)
    with pytest.raises(Hint, match="shortest"):  # a longer hold does as well
        shortest_hold(30, **context)


def test_shortest_hold_refuses_unknown_holds(range_alarms, labels10):
    context = {"alarms": range_alarms, "labels": labels10, "holds": HOLDS}
    with pytest.raises(Hint, match="HOLDS"):
        shortest_hold(3, **context)
    with pytest.raises(Hint, match="number"):
        shortest_hold("5min", **context)


# -- best_alpha


def delays(context):
    out = {}
    for alpha in ALPHAS:
        detector = EWMADetector(alpha=alpha, quantile=1.0).fit(context["train"])
        alarms = detector.predict(context["trial"]).astype(bool)
        alarms = pd.Series(alarms, index=context["trial"].index)
        out[alpha] = metrics.time_to_detect(context["trial_labels"], alarms)[0]
    return out


def test_best_alpha_accepts_the_fastest_alpha(trial_context):
    by_alpha = delays(trial_context)
    fastest = min((d, a) for a, d in by_alpha.items() if not pd.isna(d))[1]
    best_alpha(fastest, alphas=ALPHAS, **trial_context)


def test_best_alpha_rejects_a_blind_a_slow_and_an_unknown_alpha(trial_context):
    by_alpha = delays(trial_context)
    assert by_alpha[1.0] is pd.NaT  # no smoothing: the bias hides in the noise
    with pytest.raises(Hint, match="never crosses"):
        best_alpha(1.0, alphas=ALPHAS, **trial_context)
    with pytest.raises(Hint, match="ALPHAS"):
        best_alpha(0.5, alphas=ALPHAS, **trial_context)
    with pytest.raises(Hint, match="number"):
        best_alpha(None, alphas=ALPHAS, **trial_context)


def test_best_alpha_rejects_a_slower_alpha_on_a_longer_training_history():
    # On the 6 h sample the alphas detect within seconds of each other; on white noise
    # with a long history they clearly differ, as on the full training week.
    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-01", periods=20_000, freq="1s", tz="UTC")
    train = pd.DataFrame({TAG: 1 + 0.01 * rng.standard_normal(len(index))}, index=index)
    trial_index = pd.date_range("2026-01-02", periods=3600, freq="1s", tz="UTC")
    labels = pd.Series(trial_index >= trial_index[1200], index=trial_index)
    trial = pd.DataFrame({TAG: 1 + 0.01 * rng.standard_normal(3600) + 0.01 * labels}, trial_index)
    context = {"train": train, "trial": trial, "trial_labels": labels}
    by_alpha = delays(context)
    fastest = min((d, a) for a, d in by_alpha.items() if not pd.isna(d))[1]
    best_alpha(fastest, alphas=ALPHAS, **context)
    late = by_alpha[fastest] + pd.Timedelta("30s")
    slow = [a for a, d in by_alpha.items() if not pd.isna(d) and d > late]
    assert slow
    with pytest.raises(Hint, match="sooner"):
        best_alpha(slow[0], alphas=ALPHAS, **context)


# -- cusum


def test_cusum_accepts_a_calibrated_detector(trial_context):
    detector = CUSUMDetector(k=1.0, quantile=1.0).fit(trial_context["train"])
    cusum(detector, within=pd.Timedelta("3min"), **trial_context)


def test_cusum_rejects_the_textbook_threshold_and_an_unfitted_detector(trial_context):
    context = {"within": pd.Timedelta("3min"), **trial_context}
    with pytest.raises(Hint, match="training week"):  # h=5 alarms on the autocorrelated week
        cusum(CUSUMDetector().fit(trial_context["train"]), **context)
    with pytest.raises(Hint, match="fit"):
        cusum(CUSUMDetector(k=1.0, quantile=1.0), **context)
    with pytest.raises(Hint, match="CUSUMDetector"):
        cusum(EWMADetector(quantile=1.0).fit(trial_context["train"]), **context)


def test_cusum_rejects_a_detector_fitted_on_the_trial_or_on_other_tags(trial_context, train):
    context = {"within": pd.Timedelta("3min"), **trial_context}
    with pytest.raises(Hint, match="not on the test data"):
        cusum(CUSUMDetector(k=1.0, quantile=1.0).fit(trial_context["trial"]), **context)
    with pytest.raises(Hint, match="one chlorine column"):
        cusum(CUSUMDetector(quantile=1.0).fit(train.features[[TAG, "AIT402"]]), **context)


def test_cusum_rejects_a_detector_that_is_too_slow_or_blind(trial_context):
    large_slack = CUSUMDetector(k=3.0, quantile=1.0).fit(trial_context["train"])
    with pytest.raises(Hint, match=r"too late|never detects"):
        cusum(large_slack, within=pd.Timedelta("3min"), **trial_context)
    right = CUSUMDetector(k=1.0, quantile=1.0).fit(trial_context["train"])
    with pytest.raises(Hint, match="too late"):  # it detects, but not within one second
        cusum(right, within=pd.Timedelta("1s"), **trial_context)


def test_check_says_not_answered_for_the_placeholder(capsys):
    assert not check("statistical.cusum", ...)
    assert "not answered yet" in capsys.readouterr().out
