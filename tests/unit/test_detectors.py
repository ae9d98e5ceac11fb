"""Detectors: scikit-learn's estimator checks, and synthetic attacks each one should catch."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import estimator_checks_generator

from icslab.detect import (
    CUSUMDetector,
    EWMADetector,
    Invariant,
    InvariantDetector,
    PCAResidualDetector,
    RangeDetector,
    Rule,
    RuleDetector,
    WindowFeatures,
    WindowForestDetector,
)
from icslab.detect.windows import window_statistics

# -- scikit-learn's estimator checks

SEQUENTIAL = "rows are a time series: a row's output depends on the rows before it"
EXPECTED_FAILURES = {
    "check_methods_subset_invariance": SEQUENTIAL + " (scoring in batches restarts it)",
    "check_methods_sample_order_invariance": SEQUENTIAL + " (shuffling changes it)",
}
SEQUENTIAL_ESTIMATORS = (
    RuleDetector,
    EWMADetector,
    CUSUMDetector,
    InvariantDetector,
    WindowFeatures,
    WindowForestDetector,
)

CHECKED = [
    RangeDetector(),
    EWMADetector(),
    CUSUMDetector(),
    PCAResidualDetector(),
    WindowFeatures(window=3),
    WindowForestDetector(window=3, n_estimators=10, random_state=0),
    # Positions, not names: the checks feed numpy arrays (and DataFrames named col_0...).
    InvariantDetector(invariants=(Invariant("x0 vs x1", change={0: 1.0}, total={1: -0.5}),)),
    RuleDetector(rules=(Rule("x0 above x1", "x0 > x1"),)),
]


def expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILURES if isinstance(estimator, SEQUENTIAL_ESTIMATORS) else {}


def applicable_checks():
    """scikit-learn's checks, minus the array-API one: the detectors work on numpy and
    pandas only and do not claim array-API support (sklearn skips it without SCIPY_ARRAY_API)."""
    for estimator in CHECKED:
        for item in estimator_checks_generator(
            estimator,
            expected_failed_checks=expected_failed_checks(estimator),
            mark="xfail",
            xfail_strict=True,
        ):
            # Expected failures come as marked pytest params, the rest as plain pairs.
            (checked, check), marks = (
                (item.values, item.marks) if hasattr(item, "marks") else (item, ())
            )
            name = getattr(check, "func", check).__name__
            if name != "check_array_api_input":
                label = f"{type(checked).__name__}-{name}"
                yield pytest.param(checked, check, marks=marks, id=label)


@pytest.mark.parametrize(("estimator", "check"), list(applicable_checks()))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- synthetic plant data

AREA = 50.0  # m2
GAIN = 1.0 / (3600.0 * AREA)  # m per row (1 s) per m3/h


def tank(n: int, seed: int, freeze=None, force_pump=None) -> pd.DataFrame:
    """A tank filled by an on/off pump (hysteresis 2.5-3.5 m on the level reading) and
    drained by a varying demand, at 1 Hz. `freeze=(a, b)`: the level reading is stuck
    over rows a..b-1 (the PLC reads it too); `force_pump=(a, b)`: pump forced on."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    demand = 150.0 + 60.0 * np.sin(2 * np.pi * t / 1800.0) + rng.normal(0, 1.0, n)
    level_noise, flow_noise = rng.normal(0, 0.003, n), rng.normal(0, 1.0, n)
    level, pump, held = 3.0, False, 0.0
    rows = np.empty((n, 6))
    for i in range(n):
        reading = level + level_noise[i]
        if freeze and freeze[0] <= i < freeze[1]:
            reading = held
        held = reading
        if reading < 2.5:
            pump = True
        elif reading > 3.5:
            pump = False
        on = pump or bool(force_pump and force_pump[0] <= i < force_pump[1])
        inflow = 300.0 if on else 0.0
        rows[i] = (reading, inflow + flow_noise[i], demand[i], float(on), 2.5, 3.5)
        level += (inflow - demand[i]) * GAIN
    columns = ["LIT1", "FIT_IN", "FIT_OUT", "P1_RUN", "LSP_LOW", "LSP_HIGH"]
    index = pd.date_range("2026-01-05", periods=n, freq="s", tz="UTC", name="timestamp")
    return pd.DataFrame(rows, columns=columns, index=index)


def mass_balance(window=120) -> InvariantDetector:
    invariant = Invariant.mass_balance("LIT1", "FIT_IN", "FIT_OUT", area=AREA, window=window)
    return InvariantDetector(invariants=[invariant])


@pytest.fixture(scope="module")
def tank_train():
    return tank(12_000, seed=1)


def test_mass_balance_catches_a_frozen_level_that_per_tag_limits_miss(tank_train):
    attack = slice(5000, 6500)
    test = tank(9000, seed=2, freeze=(attack.start, attack.stop))
    invariant = mass_balance().fit(tank_train)
    limits = RangeDetector(margin=0.05).fit(tank_train)  # per-tag alarm limits

    alarms, naive = invariant.predict(test), limits.predict(test)
    # After one window the residual has grown past the noise for the rest of the attack.
    assert alarms[attack.start + 120 : attack.stop].mean() > 0.95
    assert alarms[: attack.start].mean() < 0.01
    assert naive[attack].sum() == 0  # every reading stays inside its training range
    assert invariant.predict(tank_train).mean() == 0  # n_sigmas=5 on robust z
    components = invariant.score_components(test)
    assert list(components.columns) == ["mass balance LIT1"]
    assert components.index.equals(test.index)
    assert components.iloc[:120].isna().all().all()  # no residual before the window is full


def test_mass_balance_helper_matches_the_formula(tank_train):
    invariant = Invariant.mass_balance("L", ["A", "B"], "C", area=10.0, window=5, lag=1)
    assert invariant.change == {"L": 1.0}
    assert invariant.total == {"A": -1 / 36000, "B": -1 / 36000, "C": 1 / 36000}
    assert (invariant.window, invariant.lag) == (5, 1)
    gain = Invariant.mass_balance("L", "A", gain=0.5).total
    assert gain == {"A": -0.5}
    with pytest.raises(ValueError, match="exactly one of area"):
        Invariant.mass_balance("L", "A")

    # residual[t] = (x0[t] - x0[t-2]) - (x1[t-1] + x1[t-2]), by hand
    X = np.random.default_rng(0).normal(size=(50, 2))
    detector = InvariantDetector(
        invariants=[Invariant("by hand", change={0: 1.0}, total={1: -1.0}, window=2, lag=1)]
    ).fit(X)
    residual = detector.score_components(X).to_numpy()[:, 0] * detector.scale_ + detector.center_
    t = np.arange(3, 50)
    expected = X[t, 0] - X[t - 2, 0] - X[t - 1, 1] - X[t - 2, 1]
    np.testing.assert_allclose(residual[3:], expected)
    assert np.isnan(residual[:3]).all()


def test_invariant_columns_are_checked_at_fit(tank_train):
    by_name = InvariantDetector(invariants=[Invariant("n", value={"LIT1": 1.0})])
    with pytest.raises(ValueError, match="no column names"):
        by_name.fit(tank_train.to_numpy())
    with pytest.raises(ValueError, match="'LIT9', not among"):
        InvariantDetector(invariants=[Invariant("n", value={"LIT9": 1.0})]).fit(tank_train)
    with pytest.raises(ValueError, match="non-empty sequence of Invariant"):
        InvariantDetector().fit(tank_train)
    with pytest.raises(ValueError, match="window"):
        InvariantDetector(invariants=[Invariant("n", change={0: 1.0}, window=0)]).fit(tank_train)


def test_rule_catches_a_forced_pump(tank_train):
    rules = [
        Rule("pump on above stop level", "P1_RUN == 1 and LIT1 > LSP_HIGH + 0.02"),
        Rule("pump off below start level", "P1_RUN == 0 and LIT1 < LSP_LOW - 0.02"),
    ]
    detector = RuleDetector(rules=rules).fit(tank_train)
    assert detector.threshold_ == 0.0
    assert detector.predict(tank_train).sum() == 0

    attack = slice(3000, 5000)
    test = tank(8000, seed=3, force_pump=(attack.start, attack.stop))
    alarms = detector.predict(test)
    assert alarms[: attack.start].sum() == 0
    assert alarms[attack].mean() > 0.2  # from when the level passes the stop level
    broken = detector.score_components(test)
    assert broken["pump on above stop level"].max() > 100  # rows beyond normal
    assert broken["pump off below start level"].max() <= 0


def test_rules_on_numpy_use_x_names_and_callables():
    X = np.array([[0.0, 1.0], [2.0, 0.0], [3.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    detector = RuleDetector(rules=["x0 > x1 + 1"]).fit(X[:2])  # one violating row allowed
    np.testing.assert_array_equal(detector.allowed_, [1.0])
    np.testing.assert_array_equal(detector.decision_function(X), [-1, 0, 1, -1, 0])
    np.testing.assert_array_equal(detector.predict(X), [0, 0, 1, 0, 0])
    as_function = RuleDetector(rules=[Rule("f", lambda f: (f["x0"] > f["x1"] + 1).to_numpy())])
    np.testing.assert_array_equal(
        as_function.fit(X[:2]).decision_function(X), detector.decision_function(X)
    )
    with pytest.raises(ValueError, match="True/False per row"):
        RuleDetector(rules=["x0 + x1"]).fit(X)
    with pytest.raises(ValueError, match=r"failed on X with 2 feature\(s\)"):
        RuleDetector(rules=["x0 > x7"]).fit(X)


def test_rules_see_the_frame_as_given_with_its_time_index():
    index = pd.date_range("2026-01-05", periods=6, freq="s", tz="UTC")
    frame = pd.DataFrame({"P1_RUN": [0, 1, 1, 1, 0, 0], "LIT1": [1.0] * 6}, index=index)
    seen = []

    def running_at_night(f):
        seen.append(f)
        return ((f["P1_RUN"] == 1) & (f.index.hour < 6)).to_numpy()

    RuleDetector(rules=[Rule("night", running_at_night)]).fit(frame)
    assert seen[0] is frame  # not a copy indexed 0, 1, 2...
    assert seen[0]["P1_RUN"].dtype == np.int64


COLUMN_READERS = [
    RuleDetector(rules=["a > 1"]),
    InvariantDetector(invariants=[Invariant("a and b", value={"a": 1.0, "b": -1.0})]),
]


@pytest.mark.parametrize("detector", COLUMN_READERS, ids=["rules", "invariants"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_gap_in_one_column_of_a_frame_is_refused_by_name(detector, bad):
    good = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0), "c": np.ones(10)})
    fitted = clone(detector).fit(good)
    gappy = good.copy()
    gappy.loc[4, "c"] = bad  # a column no rule or invariant even reads
    with pytest.raises(ValueError, match="NaN or infinity in column 'c'"):
        clone(detector).fit(gappy)
    with pytest.raises(ValueError, match="NaN or infinity in column 'c'"):
        fitted.predict(gappy)
    assert fitted.predict(good.iloc[:1]).shape == (1,)  # one row is scored ...
    with pytest.raises(ValueError, match="minimum of 2"):
        clone(detector).fit(good.iloc[:1])  # ... but nothing is learned from it
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(good[["a", "c", "b"]])


@pytest.mark.parametrize("detector", COLUMN_READERS, ids=["rules", "invariants"])
def test_detectors_that_read_a_few_tags_never_copy_the_whole_frame(detector):
    import tracemalloc

    rows, columns = 100_000, 40
    wide = pd.DataFrame(
        np.random.default_rng(0).normal(size=(rows, columns)),
        columns=["a", "b", *(f"t{i}" for i in range(columns - 2))],
    )
    size = wide.to_numpy().nbytes  # 32 MB
    tracemalloc.start()
    try:
        clone(detector).fit(wide).predict(wide)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        RangeDetector().fit(wide)  # a detector of every tag does take a float64 copy
        whole = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 4
    assert whole >= size


# -- drift: CUSUM and EWMA


@pytest.fixture(scope="module")
def drift():
    rng = np.random.default_rng(4)
    train = rng.normal(size=(5000, 3))
    test = rng.normal(size=(3000, 3))
    test[1000:, 1] += np.arange(2000) * 1.5 / 2000  # +1.5 sigma after 2000 rows
    return train, test


@pytest.mark.parametrize(
    "detector", [CUSUMDetector(h=8.0), EWMADetector(alpha=0.02)], ids=["cusum", "ewma"]
)
def test_slow_drift_is_caught(drift, detector):
    train, test = drift
    alarms = detector.fit(train).predict(test)
    naive = RangeDetector().fit(train).predict(test)
    assert alarms[:1000].mean() < 0.01
    assert alarms[2000:].mean() > 0.95
    assert naive[1000:].mean() < 0.05
    # ... and it points at the drifting tag
    components = detector.score_components(test).abs()
    assert (components.iloc[2000:].idxmax(axis=1) == "x1").mean() > 0.95


def test_cusum_matches_the_textbook_recursion(drift):
    _, test = drift
    detector = CUSUMDetector(k=0.3, h=4.0).fit(drift[0])
    z = (test - detector.mean_) / detector.scale_
    upper, lower = np.zeros(3), np.zeros(3)
    expected = np.empty(len(z))
    for t, row in enumerate(z):
        upper = np.maximum(0.0, upper + row - 0.3)
        lower = np.maximum(0.0, lower - row - 0.3)
        expected[t] = np.maximum(upper, lower).max() / 4.0
    np.testing.assert_allclose(detector.decision_function(test), expected, atol=1e-9)


def test_ewma_scale_is_the_white_noise_value_on_white_noise(drift):
    detector = EWMADetector(alpha=0.1).fit(drift[0])
    np.testing.assert_allclose(detector.ewma_scale_, np.sqrt(0.1 / 1.9), rtol=0.1)


# -- correlation break: PCA


def test_correlation_break_is_caught_by_pca():
    rng = np.random.default_rng(5)

    def plant(n):
        latent = rng.normal(size=n)
        return np.column_stack([latent, latent, latent]) + rng.normal(0, 0.1, size=(n, 3))

    train, test = plant(4000), plant(3000)
    test[1000:1500, 1] = rng.normal(0, 1.0, 500)  # same range, no longer follows the others
    detector = PCAResidualDetector(n_components=1, quantile=0.995).fit(train)
    alarms = detector.predict(test)
    assert detector.n_components_ == 1
    # Rows where the free value happens to land near the latent one fit the pattern.
    assert alarms[1000:1500].mean() > 0.75
    assert np.delete(alarms, np.s_[1000:1500]).mean() < 0.02
    assert RangeDetector().fit(train).predict(test)[1000:1500].mean() < 0.05
    share = detector.score_components(test).iloc[1000:1500].sum()
    assert share.idxmax() == "x1"


def test_pca_keeps_a_variance_fraction():
    rng = np.random.default_rng(6)
    latent = rng.normal(size=(500, 2))
    X = np.hstack([latent, latent + rng.normal(0, 0.05, size=(500, 2))])
    assert PCAResidualDetector(n_components=0.9).fit(X).n_components_ == 2


# -- burst: window features and the forest


def test_burst_is_caught_by_the_window_forest():
    rng = np.random.default_rng(7)

    def signals(n):
        t = np.arange(n)
        return np.column_stack(
            [
                np.sin(2 * np.pi * t / 500) + rng.normal(0, 0.05, n),
                np.cos(2 * np.pi * t / 700) + rng.normal(0, 0.05, n),
            ]
        )

    train, test = signals(4000), signals(3000)
    burst = np.s_[1975:2025]  # inside the normal range: the sine is near 0 there
    test[burst, 0] += 0.4 * (-1.0) ** np.arange(50)
    # Dynamics only: the level statistics of cycling signals dilute a burst (see the class).
    detector = WindowForestDetector(
        window=10, statistics=("std", "diff", "slope"), random_state=0, quantile=0.995
    ).fit(train)
    alarms = detector.predict(test)
    assert alarms[1985:2025].mean() > 0.85  # once the window is mostly burst
    assert np.delete(alarms, np.s_[1975:2035]).mean() < 0.01
    assert RangeDetector().fit(train).predict(test)[burst].sum() == 0
    names = detector.features_.get_feature_names_out(["a", "b"])
    assert list(names[:3]) == ["a_std", "b_std", "a_diff"]


def test_window_features_are_causal_and_named():
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(rng.normal(size=(60, 2)), columns=["LIT1", "FIT1"])
    features = WindowFeatures(window=5).set_output(transform="pandas").fit(frame)
    out = features.transform(frame)
    assert list(out.columns[:3]) == ["LIT1_mean", "FIT1_mean", "LIT1_std"]
    assert out.shape == (60, 12)
    # The future does not leak into the past.
    changed = frame.copy()
    changed.iloc[40:] += 100.0
    later = features.transform(changed)
    pd.testing.assert_frame_equal(out.iloc[:40], later.iloc[:40])
    # Against pandas' own rolling windows.
    rolling = frame.rolling(5, min_periods=1)
    np.testing.assert_allclose(out.filter(like="_mean"), rolling.mean())
    np.testing.assert_allclose(out.filter(like="_std"), rolling.std(ddof=0), atol=1e-12)
    np.testing.assert_allclose(out.filter(like="_max"), rolling.max())
    np.testing.assert_allclose(out.filter(like="_diff"), frame.diff().fillna(0.0))
    # The slope of a ramp is its slope, short windows at the start included.
    ramp = np.column_stack([3.0 * np.arange(20.0), np.zeros(20)])
    slope = window_statistics(ramp, 6, ("slope",))
    np.testing.assert_allclose(slope[1:, 0], 3.0)
    np.testing.assert_allclose(slope[:, 1], 0.0, atol=1e-12)
    assert slope[0, 0] == 0.0
    with pytest.raises(ValueError, match="statistics must be distinct names"):
        WindowFeatures(statistics=("mean", "median")).fit(frame)


# -- the API contract, for every detector


def detectors():
    return [
        RangeDetector(),
        EWMADetector(),
        CUSUMDetector(),
        PCAResidualDetector(),
        WindowForestDetector(window=5, n_estimators=20, random_state=0),
        mass_balance(window=30),
        RuleDetector(rules=["P1_RUN == 1 and LIT1 > LSP_HIGH + 0.02"]),
    ]


@pytest.fixture(scope="module")
def small_tank():
    return tank(3000, seed=9), tank(1000, seed=10)


@pytest.mark.parametrize("detector", detectors(), ids=lambda d: type(d).__name__)
def test_api_contract(detector, small_tank):
    train, test = small_tank
    with pytest.raises(NotFittedError):
        detector.decision_function(test)
    assert detector.fit(train) is detector
    state = pickle.dumps(detector.__dict__)

    scores = detector.decision_function(test)
    alarms = detector.predict(test)
    if hasattr(detector, "score_components"):
        detector.score_components(test)
    assert pickle.dumps(detector.__dict__) == state  # scoring changes nothing

    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    np.testing.assert_array_equal(detector.decision_function(test), scores)  # deterministic
    assert alarms.dtype == np.int64 and set(np.unique(alarms)) <= {0, 1}
    np.testing.assert_array_equal(alarms, scores > detector.threshold_)

    # Column names are kept; a different order (or other names) is refused.
    assert list(detector.feature_names_in_) == list(train.columns)
    with pytest.raises(ValueError, match="same order"):
        detector.predict(test[test.columns[::-1]])
    with pytest.raises(ValueError, match="non-numeric column"):
        detector.fit(train.reset_index())


def test_parameters_are_checked_in_fit_not_init(small_tank):
    train, _ = small_tank
    for bad in (
        EWMADetector(alpha=0.0),
        EWMADetector(quantile=1.5),
        CUSUMDetector(h=-1),
        RangeDetector(margin=-0.1),
        RuleDetector(rules=[], tolerance=-1),
        WindowFeatures(window=0),
        PCAResidualDetector(quantile=None),
    ):
        assert clone(bad).get_params() == bad.get_params()
        with pytest.raises(ValueError):
            bad.fit(train)


def test_quantile_sets_the_training_alarm_rate(drift):
    train, _ = drift
    for detector in (EWMADetector(quantile=0.98), CUSUMDetector(quantile=0.98)):
        rate = detector.fit(train).predict(train).mean()
        assert 0.015 < rate <= 0.02
