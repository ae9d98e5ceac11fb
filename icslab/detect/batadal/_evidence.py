"""Stage 5: evidence, residuals (and their recent means) in units of normal hours."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

WINDOWS = (1, 6)  # hours over which residuals are averaged
EVIDENCE_QUANTILE = 0.999


def window_means(standardized: pd.DataFrame, window: int) -> pd.DataFrame:
    """|mean of the last `window` residuals| (0 until `window` hours are available)."""
    means = standardized.rolling(window, min_periods=window).mean().abs()
    return means.fillna(0.0)


def evidence_scales(oof: pd.DataFrame, windows: Sequence[int] = WINDOWS) -> dict[int, pd.Series]:
    """Per window, each residual's 99.9th percentile on unseen training hours."""
    return {w: window_means(oof, w).quantile(EVIDENCE_QUANTILE).clip(lower=1e-6) for w in windows}


def evidence(standardized: pd.DataFrame, scales: dict[int, pd.Series]) -> pd.DataFrame:
    """Evidence per residual and window (`name@6h`): 1 = a 1-in-1000 normal hour."""
    parts = {}
    for window, scale in scales.items():
        means = window_means(standardized, window) / scale
        for name in means.columns:
            parts[f"{name}@{window}h"] = means[name]
    return pd.DataFrame(parts, index=standardized.index)


def hourly_score(evidence_frame: pd.DataFrame) -> np.ndarray:
    """The strongest evidence of each hour, over every residual and window."""
    return evidence_frame.max(axis=1).to_numpy()
