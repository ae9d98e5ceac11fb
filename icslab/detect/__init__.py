"""Attack detectors for plant telemetry, with the scikit-learn estimator API.

Every detector here:

- takes time-ordered rows (samples) by columns (tags), as a numpy array or a DataFrame
  (numeric columns only: make the timestamp the index; NaN/inf are refused). Column
  names are kept in `feature_names_in_`, and X must have the same columns in the same
  order at predict time;
- learns normal behaviour in `fit(X)` (y is ignored: train on attack-free data);
- `decision_function(X)`: a score per row, HIGHER = MORE anomalous (the opposite of
  scikit-learn's outlier detectors), with no side effect;
- `predict(X)`: 1 = anomalous, 0 = normal, like the attack labels (scikit-learn's
  outlier detectors answer -1/1), i.e. `decision_function(X) > threshold_`;
- sets `threshold_` in `fit` from the training scores: a training `quantile`, or a
  natural limit (`n_sigmas`, CUSUM's `h`) -- see each class;
- most have `score_components(X)`: the per-tag / per-invariant / per-rule scores behind
  `decision_function`, as a DataFrame, to see what raised the alarm.

Sequential detectors (invariants with windows, rules, EWMA, CUSUM, window features)
score X as one contiguous series from its first row: score the whole period at once.

| detector | catches | score |
|---|---|---|
| RangeDetector | a tag outside its training range (baseline) | distance out, in ranges |
| InvariantDetector | broken physics (mass balance) | max robust z of residuals |
| RuleDetector | broken PLC logic (pump on above stop level) | rows broken beyond normal |
| EWMADetector | small persistent shifts | max EWMA z |
| CUSUMDetector | slow drifts, small shifts | max CUSUM / h |
| PCAResidualDetector | tags that stop moving together | SPE (Q statistic) |
| WindowForestDetector | bursts, oscillations, odd dynamics | -IsolationForest score |

Not an estimator: `icslab.detect.batadal` (the capstone's reference detector,
`icslab detect batadal`, not imported here) is a pipeline over the BATADAL files.
Its `BatadalDetector` learns from two files with different roles -- normal behaviour
from the attack-free year, the alarm threshold from the partly labelled validation
file -- where `fit(X, y)` takes one X, and it reads C-Town's tags by name (which pump
fills which tank) and the hour of day from the timestamps, so it cannot score an
unnamed array. It is built with `batadal.fit(train, validate)` and `predict`s a
DataFrame of BATADAL columns.
"""

from icslab.detect.forest import WindowForestDetector
from icslab.detect.pca import PCAResidualDetector
from icslab.detect.rules import Invariant, InvariantDetector, Rule, RuleDetector
from icslab.detect.statistical import CUSUMDetector, EWMADetector, RangeDetector
from icslab.detect.windows import WindowFeatures

__all__ = [
    "CUSUMDetector",
    "EWMADetector",
    "Invariant",
    "InvariantDetector",
    "PCAResidualDetector",
    "RangeDetector",
    "Rule",
    "RuleDetector",
    "WindowFeatures",
    "WindowForestDetector",
]
