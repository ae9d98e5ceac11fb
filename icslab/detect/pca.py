"""PCA residuals (SPE / Q statistic): tags that stop moving together."""

from __future__ import annotations

import pandas as pd
from sklearn.decomposition import PCA

from icslab.detect._base import BaseDetector, std_scale


class PCAResidualDetector(BaseDetector):
    """Squared prediction error of the standardised rows off the training PCA subspace.

    Normal plant data lives near a low-dimensional subspace (flows, levels and
    pressures that follow each other); a spoofed or manipulated tag breaks those
    correlations and leaves the subspace, even inside its own normal range.

    Parameters
    ----------
    n_components : int or float, default 0.95
        Components kept: an int, or the fraction of variance to explain (0 < f < 1).
        With as many components as tags there is no residual and nothing is detected.
    quantile : float, default 0.99
        `threshold_` is this quantile of the training SPE.

    Fitted attributes
    -----------------
    mean_, scale_ : ndarray (n_features,)
        Standardisation (std 1 for constant tags).
    pca_ : sklearn.decomposition.PCA
        Fitted on the standardised training data.
    n_components_ : int
    threshold_ : float

    Row by row (no time dependence): score = ||z - P P^T z||^2 with z the
    standardised row and P the kept components; `score_components` gives each tag's
    share, to see which tags broke the pattern.
    """

    def __init__(self, *, n_components=0.95, quantile=0.99):
        self.n_components = n_components
        self.quantile = quantile

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)
        self.scale_ = std_scale(X)
        # Telemetry is tall: the covariance route is ~30x faster than a full SVD there.
        tall = X.shape[0] >= 10 * X.shape[1]
        solver = "covariance_eigh" if tall else "full"
        self.pca_ = PCA(n_components=self.n_components, svd_solver=solver)
        self.pca_.fit((X - self.mean_) / self.scale_)
        self.n_components_ = int(self.pca_.n_components_)
        return self._score(X)

    def _components(self, X):
        z = (X - self.mean_) / self.scale_
        centred = z - self.pca_.mean_  # ~0: z is already centred on the training mean
        basis = self.pca_.components_
        return (centred - (centred @ basis.T) @ basis) ** 2

    def _score(self, X):
        return self._components(X).sum(axis=1)

    def score_components(self, X) -> pd.DataFrame:
        """Per tag: its squared residual (the row's SPE is their sum)."""
        return self._component_table(X)
