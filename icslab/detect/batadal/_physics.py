"""Stage 4: learned physics, a hydraulic model and a mass balance, as residuals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from icslab.detect.batadal._scada import LEVELS, RESOLUTION


def physics_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Everything a residual model may use: tags, previous levels and flows, hour."""
    inputs = frame.copy()
    previous = frame.shift(1).bfill()
    for column in frame.columns:
        if column.startswith(("L_", "F_")):
            inputs[f"{column}@-1"] = previous[column]
    inputs["hour"] = frame.index.hour
    return inputs


@dataclass
class ResidualModel:
    """One learned physical relation: `target` (a tag, or `dL_T*` a level change).

    halves: two models, each fitted on one half of the training year; a prediction
    is their mean. spread: the standard deviation of each half's residuals on the
    other half, i.e. on hours it had not seen.
    """

    target: str
    inputs: list[str]
    halves: tuple[HistGradientBoostingRegressor, HistGradientBoostingRegressor]
    spread: float

    def predict(self, inputs: pd.DataFrame) -> np.ndarray:
        X = inputs[self.inputs].to_numpy()
        return np.mean([half.predict(X) for half in self.halves], axis=0)


def _target(frame: pd.DataFrame, target: str) -> pd.Series:
    if target.startswith("dL_"):
        return frame[target[1:]].diff()
    return frame[target]


def _residual_specs(train: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """(target, inputs) of the hydraulic model and of the tank mass balance."""
    moving = [c for c in train.columns if train[c].nunique() > 1]
    statuses = [c for c in moving if c.startswith("S_")]
    flows = [c for c in moving if c.startswith("F_")]
    specs = []
    # Hydraulics: flows and pressures follow tank levels, actuator statuses, demand.
    for target in [c for c in moving if c.startswith(("F_", "P_"))]:
        specs.append((target, [*LEVELS, *statuses, "hour"]))
    # Mass balance: a tank's level change follows the flows in and out of the network.
    for tank in LEVELS:
        inputs = [*flows, *(f"{c}@-1" for c in flows), *(f"{t}@-1" for t in LEVELS), "hour"]
        specs.append((f"d{tank}", inputs))
    return specs


def _regressor() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=50, learning_rate=0.2, max_leaf_nodes=15, random_state=0
    )


def fit_physics(train: pd.DataFrame) -> tuple[list[ResidualModel], pd.DataFrame]:
    """Fit every residual model on `train`; also return its out-of-fold residuals.

    Each model is a pair fitted on either half-year of `train`; the out-of-fold
    residuals (each half predicted by the model of the other half) measure how far
    a model misses on hours it has not seen, in units of that spread.
    """
    inputs = physics_inputs(train)
    halves = np.array_split(np.arange(len(train)), 2)
    models, oof = [], {}
    # One thread: these fits are small, and OpenMP threads on a busy machine are slower.
    with threadpool_limits(limits=1, user_api="openmp"):
        for target, columns in _residual_specs(train):
            y = _target(train, target).to_numpy()
            X = inputs[columns].to_numpy()
            predicted = np.full(len(y), np.nan)
            pair = []
            for held, used in ((halves[1], halves[0]), (halves[0], halves[1])):
                used = used[~np.isnan(y[used])]
                pair.append(_regressor().fit(X[used], y[used]))
                predicted[held] = pair[-1].predict(X[held])
            residual = y - predicted
            spread = float(np.nanstd(residual)) or RESOLUTION
            models.append(ResidualModel(target, columns, (pair[0], pair[1]), spread))
            oof[target] = residual / spread
    return models, pd.DataFrame(oof, index=train.index)


def residuals(models: Sequence[ResidualModel], frame: pd.DataFrame) -> pd.DataFrame:
    """Signed residuals (measured - predicted) in units of each model's training spread."""
    inputs = physics_inputs(frame)
    columns = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for m in models:
            predicted = m.predict(inputs)
            columns[m.target] = (_target(frame, m.target).to_numpy() - predicted) / m.spread
    return pd.DataFrame(columns, index=frame.index)
