"""What every detector shares: input checks, the 0/1 convention and the threshold."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data


def check_numeric_frame(X) -> None:
    """Name the non-numeric columns of a DataFrame (e.g. `timestamp`) instead of failing later."""
    if isinstance(X, pd.DataFrame):
        bad = [
            str(name)
            for name, dtype in X.dtypes.items()
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
        ]
        if bad:
            raise ValueError(
                f"non-numeric column(s) {', '.join(bad)}: drop them or make the timestamp the "
                "index (frame.set_index('timestamp'))"
            )


def check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_float(name: str, value, low: float, high: float, *, low_open=False) -> float:
    # np.asarray: numpy's stubs do not take a numbers.Real; np.isfinite converts it the same way.
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(np.asarray(value))
    )
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be a number in {bracket}{low}, {high}], got {value!r}")
    return float(value)


def take_columns(X, positions) -> np.ndarray:
    """Columns of X (a checked array, or a DataFrame of `reads_columns`) as float64."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, positions].to_numpy(dtype=np.float64)
    return X[:, positions]


def robust_scale(values: np.ndarray) -> np.ndarray:
    """Per column: 1.4826 * MAD; the standard deviation where the MAD is 0; 1 where both are."""
    center = np.nanmedian(values, axis=0)
    scale = 1.4826 * np.nanmedian(np.abs(values - center), axis=0)
    std = np.nanstd(values, axis=0)
    scale = np.where(scale > 0, scale, std)
    return np.where(scale > 0, scale, 1.0)


def std_scale(values: np.ndarray) -> np.ndarray:
    """Per column standard deviation, 1 for constant columns (as StandardScaler does)."""
    std = values.std(axis=0)
    return np.where(std > 0, std, 1.0)


class BaseDetector(BaseEstimator):
    """Shared scaffolding; subclasses write `_fit(X) -> training scores` and `_score(X)`.

    Conventions (all detectors in `icslab.detect`):

    - rows are time-ordered samples, columns are tags; numpy arrays or DataFrames (the
      column names are kept in `feature_names_in_` and must come back in the same order);
      NaN and inf are refused: fill or drop gaps first;
    - `decision_function(X)`: higher means more anomalous;
    - `predict(X)`: 1 for anomalous, 0 for normal -- the attack labels' convention, not
      scikit-learn's -1/1 for outlier detectors (so these are not tagged as
      "outlier_detector" and have no `score_samples`);
    - `predict(X) == (decision_function(X) > threshold_)`, with `threshold_` set in `fit`
      from the training scores (each detector documents how).
    """

    def fit(self, X, y=None):
        """Learn normal behaviour from `X` (time-ordered, assumed attack-free); y is ignored."""
        check_numeric_frame(X)
        X = self._checked(X, reset=True)
        self._check_params()
        scores = self._fit(X)
        self.threshold_ = self._threshold(scores)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Anomaly score per row, higher = more anomalous; does not change the detector."""
        return self._score(self._validate(X))

    def predict(self, X) -> np.ndarray:
        """1 where `decision_function(X) > threshold_` (anomalous), else 0."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    # -- for subclasses

    def _check_params(self) -> None:
        """Raise ValueError for bad parameters (called by fit, never by __init__)."""

    def _fit(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _default_threshold(self) -> float | None:
        """The threshold when `quantile` is None (None: this detector needs a quantile)."""
        return None

    def _threshold(self, scores: np.ndarray) -> float:
        quantile = getattr(self, "quantile", None)
        if quantile is None:
            default = self._default_threshold()
            if default is None:
                raise ValueError(f"{type(self).__name__} needs a quantile")
            return float(default)
        quantile = check_float("quantile", quantile, 0.0, 1.0)
        finite = scores[np.isfinite(scores)]
        if finite.size == 0:
            raise ValueError("no training row could be scored: give more rows")
        return float(np.quantile(finite, quantile))

    def _validate(self, X) -> np.ndarray:
        check_is_fitted(self)
        check_numeric_frame(X)
        return self._checked(X, reset=False)

    # Detectors that read a few columns of X (by name or position) set this: they get a
    # DataFrame as given, checked column by column, instead of a float64 copy of all of
    # it (a week of 63 tags is 300 MB).
    reads_columns = False

    def _checked(self, X, *, reset: bool):
        """X as `_fit` and `_score` take it, after the conventions' checks."""
        least = 2 if reset else 1  # fitting needs two rows to learn from
        if not (self.reads_columns and isinstance(X, pd.DataFrame)):
            return validate_data(self, X, dtype=np.float64, reset=reset, ensure_min_samples=least)
        validate_data(self, X, reset=reset, skip_check_array=True)  # names, their number
        if len(X) < least:
            raise ValueError(
                f"Found array with {len(X)} sample(s) while a minimum of {least} is required."
            )
        for name in X.columns:
            values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
            if not np.isfinite(values).all():
                raise ValueError(
                    f"Input X contains NaN or infinity in column {name!r}: fill or drop gaps first"
                )
        return X

    def _names(self, n_features: int) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return [f"x{i}" for i in range(n_features)]
        return [str(name) for name in names]

    def _component_table(self, X, columns=None) -> pd.DataFrame:
        """`score_components` for detectors with `_components(X)`: one column per part
        (default: per tag)."""
        X_checked = self._validate(X)
        values = self._components(X_checked)
        if columns is None:
            columns = self._names(X_checked.shape[1])
        return self._components_frame(values, columns, X)

    def _components_frame(self, values: np.ndarray, columns, X) -> pd.DataFrame:
        """Per-part scores as a DataFrame, on X's index when X is a DataFrame."""
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(values, columns=list(columns), index=index)
