"""Isolation forest on causal window features: bursts, oscillations, odd dynamics."""

from __future__ import annotations

from sklearn.ensemble import IsolationForest

from icslab.detect._base import BaseDetector
from icslab.detect.windows import DEFAULT_STATISTICS, WindowFeatures, window_statistics


class WindowForestDetector(BaseDetector):
    """`WindowFeatures` of each tag fed to an `IsolationForest`.

    Parameters
    ----------
    window : int, default 30
        Rows per window (see `WindowFeatures`; resample 1 Hz data first).
    statistics : tuple of str, default ("mean", "std", "min", "max", "slope", "diff")
    n_estimators, max_samples, max_features, n_jobs, random_state :
        Passed to `sklearn.ensemble.IsolationForest`; set random_state for repeatable
        scores.
    quantile : float, default 0.99
        `threshold_` is this quantile of the training scores.

    Fitted attributes
    -----------------
    features_ : WindowFeatures
        Fitted on the (validated) training array: names come out as x0_mean, ...;
        `features_.get_feature_names_out(feature_names_in_)` gives the tag names.
    forest_ : IsolationForest
    threshold_ : float

    Score = -forest_.score_samples(window features): higher = easier to isolate.
    Rows are a time-ordered series (each row's features use the rows before it).

    Trained on normal data only, the forest cannot score beyond its training extremes:
    a window far outside anything seen scores about like the most unusual training
    window, so scores saturate and the threshold sits close to them. The level
    statistics (mean, min, max) of signals that cycle (tank levels, daily demand)
    spread the training data and dilute a burst; to watch dynamics (bursts,
    oscillation, chattering pumps) pass `statistics=("std", "diff", "slope")`.
    """

    def __init__(
        self,
        *,
        window=30,
        statistics=DEFAULT_STATISTICS,
        n_estimators=100,
        max_samples="auto",
        max_features=1.0,
        n_jobs=None,
        random_state=None,
        quantile=0.99,
    ):
        self.window = window
        self.statistics = statistics
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.quantile = quantile

    def _fit(self, X):
        self.features_ = WindowFeatures(window=self.window, statistics=self.statistics).fit(X)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        self.forest_.fit(self._features(X))
        return self._score(X)

    def _features(self, X):
        return window_statistics(X, self.features_.window, self.features_.statistics_)

    def _score(self, X):
        return -self.forest_.score_samples(self._features(X))
