"""Per-tag statistics: training ranges, EWMA and CUSUM control charts.

EWMA and CUSUM are sequential: `decision_function(X)` treats X as one contiguous,
time-ordered series, starting from the chart's in-control state (EWMA at the training
mean, CUSUM sums at 0) at X's first row. It is deterministic and keeps no state between
calls, so scoring a series in chunks differs from scoring it whole near chunk starts.

They assume roughly stationary inputs: raw tank levels that cycle for hours move a
CUSUM as much as an attack does. Feed them residuals (e.g. `InvariantDetector` or
`PCAResidualDetector` components, first differences) or set `quantile` to calibrate
the threshold on training data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from icslab.detect._base import BaseDetector, check_float, std_scale


class RangeDetector(BaseDetector):
    """Per-tag limits from training: the naive baseline the other detectors must beat.

    Parameters
    ----------
    margin : float, default 0.0
        Widen each tag's [min, max] by this fraction of its training range on each side.

    Fitted attributes: `low_`, `high_` (ndarray (n_features,)), `threshold_` (0.0).

    Per tag the score is how far outside its limits a value is, as a fraction of the
    training range (negative inside); `decision_function` is the largest over tags, so
    predict = 1 when any tag leaves its training range.
    """

    def __init__(self, *, margin=0.0):
        self.margin = margin

    def _check_params(self):
        check_float("margin", self.margin, 0.0, np.inf)

    def _default_threshold(self):
        return 0.0

    def _fit(self, X):
        low, high = X.min(axis=0), X.max(axis=0)
        span = high - low
        self.low_ = low - self.margin * span
        self.high_ = high + self.margin * span
        return self._score(X)

    def _components(self, X):
        span = self.high_ - self.low_
        span = np.where(span > 0, span, 1.0)
        return np.maximum(X - self.high_, self.low_ - X) / span

    def _score(self, X):
        return self._components(X).max(axis=1)

    def score_components(self, X) -> pd.DataFrame:
        """Per tag: distance outside the limits, in training ranges (negative inside)."""
        return self._component_table(X)


class EWMADetector(BaseDetector):
    """EWMA chart per tag on the standardised signal.

    Parameters
    ----------
    alpha : float in (0, 1], default 0.05
        Smoothing weight of the newest row (span = 2 / alpha - 1 rows). Small alpha:
        slow drifts, less noise; alpha = 1: plain per-row z-scores.
    n_sigmas : float, default 4.0
        `threshold_ = n_sigmas` when `quantile` is None.
    quantile : float or None, default None
        If set, `threshold_` is this quantile of the training scores instead.

    Fitted attributes
    -----------------
    mean_, scale_ : ndarray (n_features,)
        Training mean and standard deviation (1 for constant tags).
    ewma_scale_ : ndarray (n_features,)
        Expected spread of each tag's EWMA: its root mean square on the training data
        (after a burn-in of 1/alpha rows). That is sqrt(alpha / (2 - alpha)) for white
        noise, but plant signals are autocorrelated and their EWMA wanders much more,
        so it is measured, not assumed (the white-noise value where the RMS is 0).
    threshold_ : float

    Score of row t: max over tags of |EWMA_t| / ewma_scale_, the EWMA of the
    standardised signal starting at 0 (the training mean) at X's first row.
    """

    def __init__(self, *, alpha=0.05, n_sigmas=4.0, quantile=None):
        self.alpha = alpha
        self.n_sigmas = n_sigmas
        self.quantile = quantile

    def _check_params(self):
        check_float("alpha", self.alpha, 0.0, 1.0, low_open=True)
        check_float("n_sigmas", self.n_sigmas, 0.0, np.inf, low_open=True)

    def _default_threshold(self):
        return self.n_sigmas

    def _ewma(self, X):
        z = (X - self.mean_) / self.scale_
        return lfilter([self.alpha], [1.0, self.alpha - 1.0], z, axis=0)

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)
        self.scale_ = std_scale(X)
        ewma = self._ewma(X)
        burn_in = min(int(np.ceil(1.0 / self.alpha)), X.shape[0] - 2)
        rms = np.sqrt(np.mean(ewma[burn_in:] ** 2, axis=0))
        white = np.sqrt(self.alpha / (2.0 - self.alpha))
        self.ewma_scale_ = np.where(rms > 0, rms, white)
        return self._score(X)

    def _components(self, X):
        return self._ewma(X) / self.ewma_scale_

    def _score(self, X):
        return np.abs(self._components(X)).max(axis=1)

    def score_components(self, X) -> pd.DataFrame:
        """Per tag: the signed EWMA in units of `ewma_scale_`."""
        return self._component_table(X)


class CUSUMDetector(BaseDetector):
    """Two-sided tabular CUSUM per tag on the standardised signal.

    With z the training-standardised value, per tag::

        S+[t] = max(0, S+[t-1] + z[t] - k)    S-[t] = max(0, S-[t-1] - z[t] - k)

    from 0 at X's first row. A mean shift of delta sigmas is best caught with k = delta/2.

    Parameters
    ----------
    k : float, default 0.5
        Slack, in standard deviations: drift below k per row is absorbed.
    h : float, default 5.0
        Decision interval, in standard deviations. On independent normal data k=0.5,
        h=5 false-alarms about once per 465 rows per tag (h=8: once per ~10,000): with
        many tags at 1 Hz raise h, or use `quantile`.
    quantile : float or None, default None
        None: `threshold_ = 1.0` (a CUSUM sum above h). If set, `threshold_` is this
        quantile of the training scores, for autocorrelated signals that break the
        chart's independence assumption.

    Fitted attributes: `mean_`, `scale_` (ndarray (n_features,), std 1 for constant
    tags), `threshold_`.

    Score of row t: max over tags of max(S+[t], S-[t]) / h.
    """

    def __init__(self, *, k=0.5, h=5.0, quantile=None):
        self.k = k
        self.h = h
        self.quantile = quantile

    def _check_params(self):
        check_float("k", self.k, 0.0, np.inf)
        check_float("h", self.h, 0.0, np.inf, low_open=True)

    def _default_threshold(self):
        return 1.0

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)
        self.scale_ = std_scale(X)
        return self._score(X)

    @staticmethod
    def _reflected_walk(steps):
        """S[t] = max(0, S[t-1] + steps[t]), S[-1] = 0, without a Python loop (Lindley)."""
        walk = np.cumsum(steps, axis=0)
        return walk - np.minimum(np.minimum.accumulate(walk, axis=0), 0.0)

    def _sums(self, X):
        z = (X - self.mean_) / self.scale_
        return self._reflected_walk(z - self.k), self._reflected_walk(-z - self.k)

    def _components(self, X):
        upper, lower = self._sums(X)
        return np.maximum(upper, lower) / self.h

    def _score(self, X):
        return self._components(X).max(axis=1)

    def score_components(self, X) -> pd.DataFrame:
        """Per tag: max(S+, S-) / h."""
        return self._component_table(X)
