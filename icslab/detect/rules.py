"""Physics and PLC-logic checks: linear invariants (mass balances) and boolean rules.

A spoofed level sensor can stay inside its normal range and still break the tank's
mass balance; a forced pump can keep running above its stop level. Per-tag limits
miss both; these detectors check relations between tags instead.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd

from icslab.detect._base import BaseDetector, check_float, check_int, robust_scale, take_columns

Column = str | int

# One part (change, total or value) of an invariant: column positions and their coefficients.
_Part = tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]


class _Terms(TypedDict):
    """An entry of `InvariantDetector.terms_`: all that scoring uses of one invariant."""

    window: int
    lag: int
    change: _Part
    total: _Part
    value: _Part


@dataclass(frozen=True)
class Invariant:
    """A linear relation between columns that holds, up to noise, on normal data.

    Its residual at row t is::

        sum(change[c] * (x_c[t] - x_c[t - window]))
        + sum(total[c] * (x_c[t - lag - window + 1] + ... + x_c[t - lag]))
        + sum(value[c] * x_c[t])

    Columns are named (DataFrame input) or given by position (int). The first
    `window + lag` rows have no residual when `change` or `total` is used. A constant
    offset (a biased meter) is learned by the detector: no need to write it here.
    """

    name: str
    change: Mapping[Column, float] = field(default_factory=dict)
    total: Mapping[Column, float] = field(default_factory=dict)
    value: Mapping[Column, float] = field(default_factory=dict)
    window: int = 1
    lag: int = 0

    @classmethod
    def mass_balance(
        cls,
        level: Column,
        inflows=(),
        outflows=(),
        *,
        area: float | None = None,
        gain: float | None = None,
        window: int = 60,
        seconds_per_row: float = 1.0,
        lag: int = 0,
        name: str | None = None,
    ) -> Invariant:
        """Tank level change over `window` rows = (inflows - outflows) summed over them * gain.

        With flows in m3/h, a level in m and an `area` in m2, the gain is
        `seconds_per_row / (3600 * area)`; for other units pass `gain` (level change per
        row per unit of flow) instead of `area`. E.g. the plant's zone A tank::

            Invariant.mass_balance("LIT501", ["FIT501"], ["FIT503"], area=120.0, window=300)

        The residual is in level units (m). Sensor noise does not grow with the window
        but a spoofed level's error does: use minutes, not seconds.
        """
        if area is not None and gain is None:
            row_gain = seconds_per_row / (3600.0 * area)
        elif gain is not None and area is None:
            row_gain = gain
        else:
            raise ValueError("give exactly one of area (m2, flows in m3/h) or gain")
        inflows, outflows = _as_list(inflows), _as_list(outflows)
        total: dict[Column, float] = {}
        for column in inflows:
            total[column] = total.get(column, 0.0) - row_gain
        for column in outflows:
            total[column] = total.get(column, 0.0) + row_gain
        if name is None:
            name = f"mass balance {level}"
        return cls(name, change={level: 1.0}, total=total, window=window, lag=lag)


def _as_list(columns) -> list:
    return [columns] if isinstance(columns, str | int) else list(columns)


def _resolve(column, names: list[str], has_names: bool, owner: str) -> int:
    n = len(names)
    if isinstance(column, numbers.Integral) and not isinstance(column, bool):
        position = int(column)
        if not 0 <= position < n:
            raise ValueError(f"{owner} uses column {column} but X has {n} feature(s)")
        return position
    if isinstance(column, str):
        if not has_names:
            raise ValueError(
                f"{owner} names column {column!r} but X has no column names: "
                "fit on a DataFrame or use column positions"
            )
        if column not in names:
            raise ValueError(f"{owner} uses column {column!r}, not among X's {n} feature(s)")
        return names.index(column)
    raise ValueError(f"{owner}: a column is a name or a position, got {column!r}")


def _part(mapping: Mapping[Column, float], names: list[str], has_names: bool, owner: str) -> _Part:
    columns = [_resolve(c, names, has_names, owner) for c in mapping]
    coefs = np.array([float(v) for v in mapping.values()], dtype=np.float64)
    if not np.all(np.isfinite(coefs)):
        raise ValueError(f"{owner}: coefficients must be finite numbers")
    return np.array(columns, dtype=np.intp), coefs


class InvariantDetector(BaseDetector):
    """Residuals of linear invariants (e.g. tank mass balances), robustly standardised.

    Parameters
    ----------
    invariants : sequence of Invariant
        The relations to check; see `Invariant` and `Invariant.mass_balance`.
    n_sigmas : float, default 5.0
        Alarm when some invariant's residual is more than `n_sigmas` robust standard
        deviations from its training median (`threshold_ = n_sigmas`).
    quantile : float or None, default None
        If set, `threshold_` is this quantile of the training scores instead.

    Fitted attributes
    -----------------
    center_, scale_ : ndarray (n_invariants,)
        Median and robust scale (1.4826 * MAD; the std if the MAD is 0) of each residual.
    invariant_names_ : list of str
    terms_ : list of dict
        Per invariant, {"change"|"total"|"value": (column positions, coefficients),
        "window": int, "lag": int}: all that scoring uses.
    threshold_ : float

    `decision_function` is the largest |standardised residual| over the invariants;
    rows too early to have a residual (the first `window + lag`) score 0. Rows are a
    time-ordered series: a row's score depends on the rows before it in the same X.
    """

    reads_columns = True

    def __init__(self, *, invariants=None, n_sigmas=5.0, quantile=None):
        self.invariants = invariants
        self.n_sigmas = n_sigmas
        self.quantile = quantile

    def _check_params(self):
        check_float("n_sigmas", self.n_sigmas, 0.0, np.inf, low_open=True)
        invariants = list(self.invariants or ())
        if not invariants or not all(isinstance(i, Invariant) for i in invariants):
            raise ValueError("invariants must be a non-empty sequence of Invariant")
        names = [i.name for i in invariants]
        if len(set(names)) != len(names):
            raise ValueError(f"invariant names must be unique, got {names}")

    def _default_threshold(self):
        return self.n_sigmas

    def _fit(self, X):
        names = self._names(X.shape[1])
        has_names = hasattr(self, "feature_names_in_")
        self.invariant_names_ = [inv.name for inv in self.invariants]
        self.terms_: list[_Terms] = []
        for inv in self.invariants:
            owner = f"invariant {inv.name!r}"
            window = check_int(f"{owner}: window", inv.window, 1)
            lag = check_int(f"{owner}: lag", inv.lag, 0)
            terms: _Terms = {
                "window": window,
                "lag": lag,
                "change": _part(inv.change, names, has_names, owner),
                "total": _part(inv.total, names, has_names, owner),
                "value": _part(inv.value, names, has_names, owner),
            }
            if not any(len(terms[part][0]) for part in ("change", "total", "value")):
                raise ValueError(f"{owner} has no terms")
            self.terms_.append(terms)
        residuals = self._residuals(X)
        if np.all(np.isnan(residuals), axis=0).any():
            raise ValueError("fewer training rows than an invariant's window + lag")
        self.center_ = np.nanmedian(residuals, axis=0)
        self.scale_ = robust_scale(residuals)
        return np.fmax.reduce(np.abs((residuals - self.center_) / self.scale_), axis=1)

    def _residuals(self, X):
        n = len(X)
        out = np.full((n, len(self.terms_)), np.nan)
        for j, terms in enumerate(self.terms_):
            window, lag = terms["window"], terms["lag"]
            residual = np.zeros(n)
            columns, coefs = terms["value"]
            residual += take_columns(X, columns) @ coefs
            columns, coefs = terms["change"]
            windowed = len(columns) > 0
            if windowed:
                series = take_columns(X, columns) @ coefs
                residual[window:] += series[window:] - series[:-window]
            columns, coefs = terms["total"]
            if len(columns):
                windowed = True
                cumulative = np.concatenate([[0.0], np.cumsum(take_columns(X, columns) @ coefs)])
                t = np.arange(window + lag, n)
                residual[t] += cumulative[t + 1 - lag] - cumulative[t + 1 - lag - window]
            if windowed:
                residual[: window + lag] = np.nan
            out[:, j] = residual
        return out

    def _standardised(self, X):
        return (self._residuals(X) - self.center_) / self.scale_

    def _score(self, X):
        scores = np.fmax.reduce(np.abs(self._standardised(X)), axis=1)
        return np.nan_to_num(scores, nan=0.0)

    def score_components(self, X) -> pd.DataFrame:
        """Signed standardised residual per invariant (NaN before its window is full)."""
        return self._components_frame(
            self._standardised(self._validate(X)), self.invariant_names_, X
        )


@dataclass(frozen=True)
class Rule:
    """A PLC-logic rule, given by what breaks it.

    `violation` is True in rows that break the rule: a `DataFrame.eval` expression
    over the column names (`x0`, `x1`, ... for numpy input; backticks for odd names)
    or a function of that DataFrame returning one bool per row. E.g.::

        Rule("river pumps run above the stop level",
             "(P101_RUN + P102_RUN) > 0 and LIT101 > LSP101_HIGH + 0.05")
    """

    name: str
    violation: str | Callable[[pd.DataFrame], object]


class RuleDetector(BaseDetector):
    """How long each rule has been broken, beyond what normal operation shows.

    Parameters
    ----------
    rules : sequence of Rule (or of expression strings, named by themselves)
    tolerance : int, default 0
        Extra rows a rule may stay broken beyond the longest run seen in training.

    Fitted attributes
    -----------------
    rule_names_ : list of str
    allowed_ : ndarray (n_rules,)
        Longest run of consecutive violating rows per rule in training, + `tolerance`:
        transients (a pump answering one second late, noise around a setpoint) are
        learned, not alarmed on.
    threshold_ : float, always 0.0

    Per rule, the score of row t is (rows the rule has been broken for, up to and
    including t) - `allowed_`: > 0 once it is broken for longer than ever in training,
    <= 0 otherwise (minus the rows still allowed). `decision_function` is the largest
    over the rules, so predict = 1 while some rule is broken for too long.
    Rows are a time-ordered series (run lengths carry over from row to row).
    """

    reads_columns = True

    def __init__(self, *, rules=None, tolerance=0):
        self.rules = rules
        self.tolerance = tolerance

    def _rules(self) -> list[Rule]:
        return [Rule(r, r) if isinstance(r, str) else r for r in self.rules or ()]

    def _check_params(self):
        check_int("tolerance", self.tolerance, 0)
        rules = self._rules()
        if not rules or not all(
            isinstance(r, Rule) and (isinstance(r.violation, str) or callable(r.violation))
            for r in rules
        ):
            raise ValueError("rules must be a non-empty sequence of Rule or expression strings")
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names must be unique, got {names}")

    def _default_threshold(self):
        return 0.0

    def _violations(self, X) -> np.ndarray:
        """One column of True/False per rule, one row per row of X. Rules see the frame
        the participant gave (its time index, its dtypes); numpy input as columns x0..."""
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            frame = pd.DataFrame(X, columns=self._names(X.shape[1]), copy=False)
        names = [str(name) for name in frame.columns]
        n = len(frame)
        out = np.zeros((n, len(self.rules)), dtype=bool)
        for j, rule in enumerate(self._rules()):
            try:
                if isinstance(rule.violation, str):
                    result = frame.eval(rule.violation)
                else:
                    result = rule.violation(frame)
                result = np.asarray(result)
            except Exception as err:
                raise ValueError(
                    f"rule {rule.name!r} failed on X with {len(names)} feature(s) "
                    f"({', '.join(names[:8])}{', ...' if len(names) > 8 else ''}): {err}"
                ) from err
            if result.dtype != bool or result.shape not in ((n,), ()):
                raise ValueError(
                    f"rule {rule.name!r} must give one True/False per row, "
                    f"got dtype {result.dtype} and shape {result.shape}"
                )
            out[:, j] = result
        return out

    @staticmethod
    def _run_lengths(violations: np.ndarray) -> np.ndarray:
        """Consecutive violating rows up to and including each row, of one rule."""
        index = np.arange(len(violations))
        return index - np.maximum.accumulate(np.where(violations, -1, index))

    def _fit(self, X):
        self.rule_names_ = [r.name for r in self._rules()]
        violations = self._violations(X)
        longest = [self._run_lengths(column).max() for column in violations.T]
        self.allowed_ = np.array(longest, dtype=np.float64) + self.tolerance
        return self._largest(violations)

    def _largest(self, violations: np.ndarray) -> np.ndarray:
        # Rule by rule, so that a week of many rules never needs rows x rules of counts.
        scores = np.full(len(violations), -np.inf)
        for column, allowed in zip(violations.T, self.allowed_, strict=True):
            np.maximum(scores, self._run_lengths(column) - allowed, out=scores)
        return scores

    def _components(self, X):
        violations = self._violations(X)
        return np.column_stack(
            [
                self._run_lengths(column) - allowed
                for column, allowed in zip(violations.T, self.allowed_, strict=True)
            ]
        )

    def _score(self, X):
        return self._largest(self._violations(X))

    def score_components(self, X) -> pd.DataFrame:
        """Per rule: rows broken for, minus `allowed_` (> 0: longer than in training)."""
        return self._component_table(X, self.rule_names_)
