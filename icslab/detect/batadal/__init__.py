"""BATADAL (C-Town water network): a physics-aware attack detector in six stages.

`icslab detect batadal --train dataset03 --validate dataset04 --test test --out predictions.csv`
(`run(train, validate, test, out)` here) learns normal behaviour from the attack-free
year (train), calibrates its alarms on the partly labelled six months (validate), and
writes `DATETIME,ATT_FLAG` for every row of the test file. It never reads labels from
the test file. Bad input raises `icslab.errors.InputError`, naming every problem.

Stages, each a small function a notebook can run and plot on its own:

1. `read_scada`: the loader's tidy table, rounded to the 0.01 resolution of the
   SCADA exports (dataset03 has full precision, dataset04 and the test set do not:
   without rounding, pressures that barely move in training look anomalous).
2. `learn_control_rules` / `control_violations`: the PLC logic. Each pump or valve
   in `TANK_CONTROL` switches on when the tank it fills runs low and off when it is
   full. Training gives, per actuator, the highest level it ever ran at, the lowest
   level it ever stood still at, and the levels it switched at. A pump that keeps
   running after its tank passed the stop level (or stays off after it fell below
   the start level) is what a spoofed level reading or a forced actuator looks like.
3. `learn_status_rules` / `status_violations`: a pump's on/off status contradicts
   its flow or the pressure it creates downstream (learned: in training, PU7 on
   always meant P_J415 above 76 m and off below), or an actuator that never moved
   in training moves. Replayed or forged statuses break these.
4. `fit_physics` / `residuals`: learned physics. A hydraulic model predicts each flow
   and pressure from the tank levels, actuator statuses and hour of day (what a
   hydraulic simulator such as EPANET computes); a mass balance predicts each tank's
   level change from the flows. Both are gradient-boosted trees fitted on the
   attack-free year, two per relation (one per half-year), so that every training
   hour also gets a prediction from a model that never saw it.
5. `evidence`: each residual, and its mean over the last 6 hours, divided by its
   99.9th percentile on unseen training hours: 1 is "as odd as one normal hour in a
   thousand". The 6-hour mean catches small persistent offsets (a pump slowed down).
6. `alarms`: a broken rule raises an alarm held for `switch_interval` hours (rules
   never break in normal operation, but a concealed attack only shows when a pump
   would switch); evidence above a threshold raises one held a few hours.
   `calibrate` picks the threshold (as a false-alarm rate on unseen training hours)
   and that hold to maximise the BATADAL score S on the validation labels
   (`validation_labels`, the "file" protocol of `icslab.protocols`).

Every stage is causal: the flag for an hour depends only on that hour and earlier
ones, so the output for a prefix of the test file is the prefix of the output.
`explain` tells, hour by hour, which rules broke and which residuals stood out.
`leave_one_attack_out` measures the whole procedure on validation hours it did not
calibrate on (see bench/batadal.py); the labels to score it by are BATADAL's
evaluation protocols, `icslab.protocols.reference_labels`.

`BatadalDetector` is a pipeline over BATADAL's named columns, not a scikit-learn
estimator like the other detectors of `icslab.detect`: see its docstring.

One module per stage: `_scada` (1), `_control` (2), `_status` (3), `_physics` (4),
`_evidence` (5), `_alarms` (6), `_detector` (the whole pipeline), `_heldout`
(leave one attack out), `_run` (files in, predictions file out). Import from here.
"""

from icslab.detect.batadal._alarms import (
    EVIDENCE_HOLDS,
    QUANTILES,
    Calibration,
    alarms,
    calibrate,
    hold_alarms,
    switch_interval,
)
from icslab.detect.batadal._control import (
    LEVEL_MARGIN,
    ControlRule,
    control_violations,
    learn_control_rules,
)
from icslab.detect.batadal._detector import BatadalDetector, fit, fit_normal
from icslab.detect.batadal._evidence import (
    EVIDENCE_QUANTILE,
    WINDOWS,
    evidence,
    evidence_scales,
    hourly_score,
    window_means,
)
from icslab.detect.batadal._heldout import leave_one_attack_out
from icslab.detect.batadal._physics import ResidualModel, fit_physics, physics_inputs, residuals
from icslab.detect.batadal._run import predict_file, run, write_predictions
from icslab.detect.batadal._scada import (
    LEVELS,
    RESOLUTION,
    TANK_CONTROL,
    read_datetimes,
    read_scada,
)
from icslab.detect.batadal._status import (
    FLOW_EPS,
    PressureRule,
    StatusRules,
    learn_status_rules,
    status_violations,
)

# What `fit` calibrates on. It is an evaluation protocol ("file") and lives with the
# others in icslab.protocols; named here too because the calibration stage uses it.
from icslab.protocols import validation_labels

__all__ = [
    "EVIDENCE_HOLDS",
    "EVIDENCE_QUANTILE",
    "FLOW_EPS",
    "LEVELS",
    "LEVEL_MARGIN",
    "QUANTILES",
    "RESOLUTION",
    "TANK_CONTROL",
    "WINDOWS",
    "BatadalDetector",
    "Calibration",
    "ControlRule",
    "PressureRule",
    "ResidualModel",
    "StatusRules",
    "alarms",
    "calibrate",
    "control_violations",
    "evidence",
    "evidence_scales",
    "fit",
    "fit_normal",
    "fit_physics",
    "hold_alarms",
    "hourly_score",
    "learn_control_rules",
    "learn_status_rules",
    "leave_one_attack_out",
    "physics_inputs",
    "predict_file",
    "read_datetimes",
    "read_scada",
    "residuals",
    "run",
    "status_violations",
    "switch_interval",
    "validation_labels",
    "window_means",
    "write_predictions",
]
