"""Self-checks of 06-evaluation: right answers pass, typical wrong ones get a hint."""

import numpy as np
import pandas as pd
import pytest

from icslab import metrics
from icslab.checks import Hint
from icslab.checks.evaluation import (
    batadal_parts,
    false_alarms_per_day,
    one_alarm_per_event,
    toy_pointwise,
    toy_time_to_detect,
)
from icslab.data import load_plant


def steps(text):
    return np.array([character == "#" for character in text])


# The notebook's toy series: events (4, 9) and (16, 25); alarms at 1, 6-7, 21 and 26.
TOY = {
    "labels": steps("....######......##########...."),
    "alarms": steps(".#....##.............#....#..."),
}


@pytest.fixture(scope="module")
def labels():
    """Per-minute labels of the sample test set, as the notebook builds them."""
    return load_plant("sample").labels.resample("1min").max()


@pytest.fixture(scope="module")
def predictions(labels):
    """A detector that catches some attacks late, misses one and raises false alarms."""
    alarms = pd.Series(False, index=labels.index)
    events = metrics.events(labels)
    first, last = events[0]
    alarms.iloc[first + 3 : first + 6] = True  # late, three minutes
    first, last = events[3]
    # very late, and on for 40 minutes after the attack: false after its 30 of recovery
    alarms.iloc[last - 1 : last + 41] = True
    alarms.iloc[10:12] = True  # false: before the first attack
    between = events[5][0] - 5
    alarms.iloc[between] = True  # false: after the previous attack's recovery
    assert not labels.iloc[10:12].any() and not labels.iloc[last + 1 : last + 41].any()
    assert events[4][1] + 30 < between < events[5][0]
    return alarms


# --- toy_pointwise -------------------------------------------------------------


def test_toy_pointwise_accepts_the_counts_by_hand():
    toy_pointwise((3 / 5, 3 / 16), **TOY)
    toy_pointwise([0.6, 0.19], **TOY)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        ((3 / 16, 3 / 5), "swapped"),
        ((0.5, 1.0), "event-wise"),
        ((3 / 4, 3 / 16), "precision ="),  # only the alarms inside attacks counted as alarms
        ((3 / 5, 2 / 16), "recall ="),
        ((3, 16), "precision ="),  # counts, not fractions
    ],
)
def test_toy_pointwise_refuses_typical_mistakes(wrong, hint):
    with pytest.raises(Hint, match=hint):
        toy_pointwise(wrong, **TOY)


def test_toy_pointwise_wants_two_numbers():
    with pytest.raises(Hint, match="two numbers"):
        toy_pointwise(0.6, **TOY)
    with pytest.raises(Hint, match="number"):
        toy_pointwise(("0.6", "0.19"), **TOY)


# --- toy_time_to_detect ------------------------------------------------------------


def test_toy_time_to_detect_accepts_the_delays_in_steps():
    toy_time_to_detect([2, 5], **TOY)
    toy_time_to_detect((2, 5), **TOY)
    toy_time_to_detect(np.array([2, 5]), **TOY)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        ([3, 6], "delay of 0"),  # counted the first step as 1
        ([2, 10], "first alarmed step"),  # to the end of the attack
        ([5, 5], "alarms before"),  # from the alarm at step 1
        ([2], "one delay per attack"),
        ([2, None], "has an alarm"),
        (7, "a list"),
    ],
)
def test_toy_time_to_detect_refuses_typical_mistakes(wrong, hint):
    with pytest.raises(Hint, match=hint):
        toy_time_to_detect(wrong, **TOY)


def test_toy_time_to_detect_wants_none_for_a_missed_attack():
    missed = {"labels": TOY["labels"], "alarms": steps(".#....##......................")}
    toy_time_to_detect([2, None], **missed)
    toy_time_to_detect([2, pd.NA], **missed)  # as time_to_detect writes it
    toy_time_to_detect(metrics.time_to_detect(*missed.values()), **missed)
    toy_time_to_detect([2, np.nan], **missed)
    with pytest.raises(Hint, match="None"):
        toy_time_to_detect([2, 0], **missed)


# --- one_alarm_per_event ------------------------------------------------------------


def middles(labels):
    alarms = pd.Series(False, index=labels.index)
    for first, last in metrics.events(labels):
        alarms.iloc[(first + last) // 2] = True
    return alarms


def test_one_alarm_per_event_accepts_any_single_minute_in_each_attack(labels):
    one_alarm_per_event(middles(labels), labels=labels)
    firsts = pd.Series(False, index=labels.index)
    firsts.iloc[[first for first, _ in metrics.events(labels)]] = True
    one_alarm_per_event(firsts, labels=labels)
    one_alarm_per_event(middles(labels).to_numpy().astype(int), labels=labels)


def test_one_alarm_per_event_refuses_the_labels_themselves(labels):
    with pytest.raises(Hint, match="exactly one"):
        one_alarm_per_event(labels, labels=labels)


def test_one_alarm_per_event_refuses_a_missed_attack(labels):
    alarms = middles(labels)
    alarms.iloc[np.flatnonzero(alarms)[0]] = False
    with pytest.raises(Hint, match="no alarm"):
        one_alarm_per_event(alarms, labels=labels)


def test_one_alarm_per_event_refuses_alarms_outside_attacks(labels):
    alarms = middles(labels)
    alarms.iloc[0] = True
    assert not labels.iloc[0]
    with pytest.raises(Hint, match="outside"):
        one_alarm_per_event(alarms, labels=labels)
    with pytest.raises(Hint, match="outside"):
        one_alarm_per_event(~middles(labels), labels=labels)


def test_one_alarm_per_event_wants_the_index_of_the_labels(labels):
    alarms = middles(labels)
    with pytest.raises(Hint, match="same index"):
        one_alarm_per_event(alarms.reset_index(drop=True), labels=labels)
    with pytest.raises(Hint, match="one value per minute"):
        one_alarm_per_event(alarms.to_numpy()[:-1], labels=labels)
    with pytest.raises(Hint, match="True/False"):
        one_alarm_per_event(alarms.to_numpy() * 2, labels=labels)


# --- false_alarms_per_day ------------------------------------------------------------


def normal_minutes(labels, recovery=30):
    """Minutes outside each attack and the `recovery` minutes after it."""
    normal = ~labels.to_numpy(dtype=bool)
    for first, last in metrics.events(labels):
        normal[first : last + recovery + 1] = False
    return normal


def test_false_alarms_per_day_accepts_the_count_over_the_days_of_normal_time(labels, predictions):
    days = normal_minutes(labels).sum() / (24 * 60)
    # three false alarms: minutes 10-11, the one between attacks, and the end of the
    # alarm left on after the fourth attack, past its 30 minutes of recovery
    assert metrics.false_alarms_per_day(labels, predictions) == pytest.approx(3 / days)
    false_alarms_per_day(3 / days, labels=labels, predictions=predictions)
    false_alarms_per_day(np.float64(3 / days), labels=labels, predictions=predictions)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        ("count", "divide it by the days of normal time"),
        ("all days", "not by all the data"),
        ("no recovery", "after each attack out of normal time"),
        ("minutes", "not alarmed minutes"),
        ("old definition", "still false where it lies in normal time"),
        ("every segment", "only the alarms in normal time"),
        (0, "alarm_segments"),
        (True, "number"),
    ],
)
def test_false_alarms_per_day_refuses_typical_mistakes(labels, predictions, wrong, hint):
    normal, alarm = normal_minutes(labels), predictions.to_numpy()
    days = normal.sum() / (24 * 60)
    attack = labels.to_numpy(dtype=bool)
    segments = metrics.alarm_segments(alarm)
    answers = {
        "count": 3,
        "all days": 3 / (len(labels) / (24 * 60)),
        "no recovery": 3 / (normal_minutes(labels, recovery=0).sum() / (24 * 60)),
        "minutes": int((alarm & normal).sum()) / days,
        "old definition": sum(not attack[s : e + 1].any() for s, e in segments) / days,
        "every segment": len(segments) / days,
    }
    with pytest.raises(Hint, match=hint):
        false_alarms_per_day(answers.get(wrong, wrong), labels=labels, predictions=predictions)


def test_false_alarms_per_day_of_a_quiet_detector_is_zero(labels):
    false_alarms_per_day(0, labels=labels, predictions=middles(labels))


# --- batadal_parts ------------------------------------------------------------------


def test_batadal_parts_accepts_the_competition_formula(labels, predictions):
    expected = metrics.batadal_score(labels, predictions)
    batadal_parts((expected.s_ttd, expected.s_cm), labels=labels, predictions=predictions)
    # by hand, as in the notebook's solution
    attack, alarm = labels.to_numpy(), predictions.to_numpy()
    durations = [last - first + 1 for first, last in metrics.events(labels)]
    delays = metrics.time_to_detect(attack, alarm)
    s_ttd = 1 - np.mean(
        [(n if pd.isna(d) else d) / n for d, n in zip(delays, durations, strict=True)]
    )
    tpr = (attack & alarm).sum() / attack.sum()
    tnr = (~attack & ~alarm).sum() / (~attack).sum()
    batadal_parts((s_ttd, (tpr + tnr) / 2), labels=labels, predictions=predictions)


def test_batadal_parts_refuses_typical_mistakes(labels, predictions):
    expected = metrics.batadal_score(labels, predictions)
    attack, alarm = labels.to_numpy(), predictions.to_numpy()
    detected = [t / d for t, d in zip(expected.ttd, expected.durations, strict=True) if t < d]
    assert len(detected) < len(expected.ttd), "the fixture misses an attack"
    context = {"labels": labels, "predictions": predictions}
    with pytest.raises(Hint, match="swapped"):
        batadal_parts((expected.s_cm, expected.s_ttd), **context)
    with pytest.raises(Hint, match="undetected attack"):
        batadal_parts((1 - np.mean(detected), expected.s_cm), **context)
    with pytest.raises(Hint, match="accuracy"):
        batadal_parts((expected.s_ttd, float(np.mean(attack == alarm))), **context)
    with pytest.raises(Hint, match="TPR"):
        batadal_parts((expected.s_ttd, expected.s_cm / 2), **context)
    with pytest.raises(Hint, match="s_ttd ="):
        batadal_parts((expected.s, expected.s_cm), **context)
    with pytest.raises(Hint, match="two numbers"):
        batadal_parts(expected.s, **context)
