"""Causal window features: what the last `window` rows of each tag looked like."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from icslab.detect._base import check_int, check_numeric_frame

STATISTICS = ("value", "mean", "std", "min", "max", "slope", "diff")
DEFAULT_STATISTICS = ("mean", "std", "min", "max", "slope", "diff")


def _slope(X: np.ndarray, window: int) -> np.ndarray:
    """Least-squares slope per row over the last `window` rows (fewer at the start)."""
    n = X.shape[0]
    out = np.zeros_like(X)
    if window == 1:
        return out
    centre = (window - 1) / 2.0
    weights = centre - np.arange(window)  # weight of x[t - j]
    weights /= np.sum(weights**2)
    out[:] = lfilter(weights, [1.0], X, axis=0)
    for t in range(min(window - 1, n)):  # partial windows: regress on what there is
        times = np.arange(t + 1) - t / 2.0
        out[t] = times @ X[: t + 1] / np.sum(times**2) if t else 0.0
    return out


def window_statistics(X: np.ndarray, window: int, statistics=DEFAULT_STATISTICS) -> np.ndarray:
    """(n_rows, n_statistics * n_tags), grouped by statistic, using rows t-window+1..t only."""
    frame = pd.DataFrame(X)
    rolling = frame.rolling(window, min_periods=1)
    blocks = []
    for statistic in statistics:
        if statistic == "value":
            blocks.append(X)
        elif statistic == "std":
            blocks.append(rolling.std(ddof=0).to_numpy())
        elif statistic in ("mean", "min", "max"):
            blocks.append(getattr(rolling, statistic)().to_numpy())
        elif statistic == "slope":
            blocks.append(_slope(X, window))
        elif statistic == "diff":
            blocks.append(np.diff(X, axis=0, prepend=X[:1]))
    return np.hstack(blocks) if blocks else np.empty((X.shape[0], 0))


class WindowFeatures(TransformerMixin, BaseEstimator):
    """Rolling statistics per tag over the current and the previous `window - 1` rows.

    Causal: row t only uses rows t-window+1..t, so features never peek into the future
    (the first rows use the shorter window they have). Rows must be time-ordered and
    evenly spaced; resample 1 Hz plant data (e.g. 10 s means) before long windows:
    the output has len(statistics) times as many columns as the input.

    Parameters
    ----------
    window : int, default 10
        Rows per window.
    statistics : tuple of str, default ("mean", "std", "min", "max", "slope", "diff")
        Any of "value" (the row itself), "mean", "std" (population), "min", "max",
        "slope" (least squares, per row), "diff" (x[t] - x[t-1], 0 on the first row).

    Output columns are grouped by statistic and named "<tag>_<statistic>", e.g.
    "LIT101_mean" (see `get_feature_names_out`; `set_output(transform="pandas")` works).
    """

    def __init__(self, *, window=10, statistics=DEFAULT_STATISTICS):
        self.window = window
        self.statistics = statistics

    def _check_params(self):
        check_int("window", self.window, 1)
        statistics = (self.statistics,) if isinstance(self.statistics, str) else self.statistics
        unknown = [s for s in statistics if s not in STATISTICS]
        if unknown or not statistics or len(set(statistics)) != len(statistics):
            raise ValueError(
                f"statistics must be distinct names among {STATISTICS}, got {self.statistics!r}"
            )
        return tuple(statistics)

    def fit(self, X, y=None):
        """Check the parameters and remember the columns; y is ignored."""
        check_numeric_frame(X)
        validate_data(self, X, dtype=np.float64)
        self.statistics_ = self._check_params()
        return self

    def transform(self, X):
        check_is_fitted(self)
        check_numeric_frame(X)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return window_statistics(X, self.window, self.statistics_)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if names is None:
                names = [f"x{i}" for i in range(self.n_features_in_)]
        else:
            input_features = [str(name) for name in input_features]
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    f"input_features has {len(input_features)} names, "
                    f"expected {self.n_features_in_}"
                )
            if names is not None and list(names) != input_features:
                raise ValueError("input_features is not equal to feature_names_in_")
            names = input_features
        return np.asarray(
            [f"{name}_{statistic}" for statistic in self.statistics_ for name in names],
            dtype=object,
        )
