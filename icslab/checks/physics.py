"""Self-checks of 02-physics: mass balances, invariants, PLC-logic rules, alarms on TEST.

Expected answers come from the plant's design (tank areas) and from the datasets passed
in: rules and alarms are judged by what they do on TRAIN and TEST (attacks caught, false
alarms), so any reasonable answer passes.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np
import pandas as pd

from icslab import metrics
from icslab.checks import Hint, exercise
from icslab.detect import Invariant, Rule, RuleDetector
from icslab.sim.waterworks import AREA, TANK_FLOWS

AREA_TOLERANCE = 0.05  # relative
CLEAR_WELL = (*TANK_FLOWS["T401"], AREA["T401"])
MIN_WINDOW, MAX_WINDOW = 60, 3600  # rows (seconds): minutes, not seconds
MAX_ALLOWED = 300  # s a rule may stay broken on TRAIN before it describes normal operation
MIN_PUMP_ATTACKS = 2
MAX_FALSE_ALARMS_PER_DAY = 1.0
MIN_EVENT_RECALL = 1 / 3
MIN_PRECISION = 0.5  # share of the alarmed seconds that lie inside an attack
PUMP_COMMAND = re.compile(r"\bP\d+_CMD\b")


def _number(answer, what: str) -> float:
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise Hint(f"answer with a number: {what}")
    if not math.isfinite(answer):
        raise Hint(f"answer with a finite number: {what}")
    return float(answer)


@exercise("physics.t501_area")
def t501_area(answer, *, plant) -> None:
    area = _number(answer, "the area in m2")
    expected = AREA["T501"]

    def near(value: float) -> bool:
        return abs(value - expected) <= AREA_TOLERANCE * expected

    if near(area):
        return
    if area > 0 and near(1 / area):
        raise Hint("that is level per volume: the area is volume (m3) per level change (m)")
    if near(area / 3600) or near(area * 3600):
        raise Hint("mind the units: a flow in m3/h for one second is flow / 3600 m3")
    if near(-area):
        raise Hint("inflow minus outflow: FIT501 comes in, FIT503 goes out")
    raise Hint(
        "per 10 minutes, compare the net volume in (m3) with the level change (m): "
        "their ratio (the slope) is the area"
    )


def _coefficients(invariant: Invariant) -> tuple[dict, dict, float]:
    """The invariant's total and value terms per column, divided by its level's change."""
    if set(invariant.change) != {CLEAR_WELL[0]}:
        raise Hint("the level of the clear well is LIT401: the invariant's `change` is its level")
    scale = float(invariant.change[CLEAR_WELL[0]])
    if scale == 0:
        raise Hint("the level's coefficient must not be 0")
    total = {str(column): float(c) / scale for column, c in invariant.total.items()}
    value = {str(column): float(c) / scale for column, c in invariant.value.items()}
    return total, value, scale


@exercise("physics.t401_invariant")
def t401_invariant(answer, *, plant) -> None:
    if not isinstance(answer, Invariant):
        raise Hint("answer with an Invariant, e.g. from Invariant.mass_balance(...)")
    _, inflows, outflows, area = CLEAR_WELL
    total, value, _ = _coefficients(answer)
    if value:
        raise Hint("a mass balance sums flows over the window (`total`), not single values")
    flows = set(inflows) | set(outflows)
    if set(total) - flows:
        raise Hint("only the clear well's own flows belong in its balance")
    if set(outflows) - set(total):
        raise Hint("a flow is missing: the clear well has one inflow and two outflows")
    if set(inflows) - set(total):
        raise Hint("the inflow is missing: filtered water comes into the clear well")
    if not MIN_WINDOW <= int(answer.window) <= MAX_WINDOW:
        raise Hint("use a window of minutes (in rows of one second), e.g. 10 minutes")
    gain = 1 / (3600 * area)
    signs = {column: -1.0 if column in inflows else 1.0 for column in flows}
    if any(np.sign(total[column]) != signs[column] for column in flows):
        raise Hint("inflows raise the level and outflows lower it: check the directions")
    if not all(math.isclose(abs(total[column]), gain, rel_tol=0.01) for column in flows):
        raise Hint("check the area (AREA['T401']) and the units: m3/h over rows of one second")


def _pump_attacks(plant) -> list:
    return [
        attack
        for attack in plant.attacks.itertuples()
        if any(PUMP_COMMAND.search(target) for target in attack.targets)
    ]


@exercise("physics.pump_rules")
def pump_rules(answer, *, train, test) -> None:
    if isinstance(answer, Rule | str) or not isinstance(answer, list | tuple):
        raise Hint("answer with a list of Rule objects, e.g. [river_start, Rule(...), ...]")
    if not answer:
        raise Hint("the list is empty: write at least one rule per pump group")
    try:
        detector = RuleDetector(rules=list(answer)).fit(train.features)
        components = detector.score_components(test.features)
    except ValueError as error:
        raise Hint(f"a rule cannot be evaluated: {error}") from None
    for name, allowed in zip(detector.rule_names_, detector.allowed_, strict=True):
        if allowed > MAX_ALLOWED:
            raise Hint(
                f"rule {name!r} is broken for {allowed:.0f} s in a row in normal operation "
                "(TRAIN): write what must NOT happen, e.g. a pump running when it should not"
            )
    alarms = (components > 0).any(axis=1).to_numpy()
    labels = test.labels
    # Counted as the leaderboard counts them (metrics.false_alarms_per_day).
    per_day = metrics.false_alarms_per_day(labels, pd.Series(alarms, index=labels.index))
    if per_day > MAX_FALSE_ALARMS_PER_DAY:
        raise Hint(
            f"{per_day:.1f} false alarms per day on TEST: find the rule that fires outside the "
            "attacks (logic.score_components) and allow some noise around the levels"
        )
    attacks = _pump_attacks(test)
    index = labels.index
    caught = sum(
        alarms[index.searchsorted(a.start) : index.searchsorted(a.end, side="right")].any()
        for a in attacks
    )
    wanted = min(MIN_PUMP_ATTACKS, len(attacks))
    if caught < wanted:
        raise Hint(
            f"your rules catch {caught} of the {len(attacks)} attacks that force a pump "
            "command: cover the start logic of the river and high-lift pumps, the backwash "
            "pump and the booster"
        )


@exercise("physics.alarms")
def alarms(answer, *, plant) -> None:
    labels = plant.labels
    if isinstance(answer, pd.DataFrame) and answer.shape[1] == 1:
        answer = answer.iloc[:, 0]
    if not isinstance(answer, pd.Series | np.ndarray | list):
        raise Hint("answer with a Series of True/False, one per second of TEST")
    if len(answer) != len(labels):
        raise Hint("one True/False per second of TEST: keep the index of test.labels")
    if isinstance(answer, pd.Series) and not answer.index.equals(labels.index):
        raise Hint("keep the index of test.labels: no row dropped, shifted or resampled")
    values = pd.Series(np.asarray(answer), index=labels.index)
    if values.isna().any():
        raise Hint("some values are missing (NaN): fill them with False")
    if not (values.dtype == bool or set(np.unique(values)) <= {0, 1}):
        raise Hint("the alarms must be True/False (or 1/0)")
    values = values.astype(bool)
    if not values.any():
        raise Hint("no alarm at all: combine the detectors' alarms (raw['either'])")
    precision = metrics.pointwise(labels, values).precision
    if precision < MIN_PRECISION:
        raise Hint(
            f"only {precision:.0%} of the alarmed seconds lie inside an attack: "
            "the alarms stay on too long, shorten the off-delay"
        )
    per_day = metrics.false_alarms_per_day(labels, values)
    if per_day > MAX_FALSE_ALARMS_PER_DAY:
        raise Hint(
            f"{per_day:.1f} false alarms per day: a longer off-delay joins the alarm "
            "segments that flicker at the end of an attack"
        )
    recall = metrics.event_recall(labels, values)
    if recall < MIN_EVENT_RECALL:
        raise Hint(
            f"only {recall:.0%} of the attacks caught: combine both detectors (invariants or rules)"
        )
