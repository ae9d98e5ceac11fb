"""Detector scores, checked on small series whose expected numbers are worked out by hand.

Notation in the comments: positions are 0-based, (start, end) includes end.
"""

import doctest
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_recall_fscore_support

import icslab.metrics
from icslab.metrics import (
    BatadalScore,
    ETaPR,
    Scores,
    alarm_segments,
    batadal_score,
    etapr,
    event_precision,
    event_recall,
    event_scores,
    events,
    false_alarms_per_day,
    normal_time_in_alarm,
    point_adjust,
    point_adjusted,
    point_adjusted_f1,
    pointwise,
    time_to_detect,
)

BATADAL_DIR = Path(__file__).parents[2].parent / "shared" / "data" / "batadal"
needs_batadal = pytest.mark.skipif(
    not BATADAL_DIR.is_dir() and not os.environ.get("CI"),
    reason=f"real BATADAL files not found in {BATADAL_DIR}",
)
NA = pd.NA


def steps(text: str) -> np.ndarray:
    """'..##.#' -> [F, F, T, T, F, T]: a series drawn as text, one character per step."""
    return np.array([c == "#" for c in text.replace(" ", "")])


def unknown(text: str) -> pd.Series:
    """'.#?' -> nullable boolean labels [False, True, <NA>]."""
    values = {".": False, "#": True, "?": None}
    return pd.Series(pd.array([values[c] for c in text.replace(" ", "")], dtype="boolean"))


def hourly(n: int, start: str = "2014-01-06") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h", tz="UTC")


# --- input conventions ------------------------------------------------------


def test_the_module_docstring_examples_run():
    failures, tried = doctest.testmod(icslab.metrics)
    assert tried > 10
    assert failures == 0


def test_events_are_maximal_runs_with_inclusive_ends():
    assert events(steps(".## ..# .###")) == [(1, 2), (5, 5), (7, 9)]


def test_events_at_the_very_start_and_end_of_the_series():
    assert events(steps("##.#")) == [(0, 1), (3, 3)]
    assert events(steps("####")) == [(0, 3)]


def test_no_events_in_normal_or_empty_labels():
    assert events(steps("....")) == []
    assert events([]) == []


def test_labels_may_be_bools_ints_lists_or_series_alike():
    expected = [(1, 2)]
    assert events([0, 1, 1, 0]) == expected
    assert events([False, True, True, False]) == expected
    assert events(np.array([0, 1, 1, 0])) == expected
    assert events(pd.Series([0.0, 1.0, 1.0, 0.0], index=hourly(4))) == expected
    assert alarm_segments([1, 1, 0, 1]) == [(0, 1), (3, 3)]


def test_an_unknown_label_is_never_part_of_an_attack_and_splits_one():
    assert events(unknown("##?#")) == [(0, 1), (3, 3)]
    assert events([True, None, True]) == [(0, 0), (2, 2)]
    assert events([1.0, math.nan, 0.0]) == [(0, 0)]


def test_raw_batadal_minus_999_is_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"-999 at step 1.*load_batadal"):
        pointwise([0, -999, 1], [0, 0, 1])


def test_non_boolean_values_are_refused():
    with pytest.raises(ValueError, match="True/False"):
        events([0, 2, 1])
    with pytest.raises(ValueError, match="True/False"):
        events(["attack", "normal"])
    with pytest.raises(ValueError, match="one-dimensional"):
        events(np.zeros((2, 2), dtype=bool))


def test_predictions_must_be_known_at_every_step():
    with pytest.raises(ValueError, match="1 are missing, first at step 1"):
        pointwise([0, 1, 1], [False, None, True])


def test_series_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length: 3 and 2"):
        pointwise([0, 1, 1], [0, 1])


def test_misaligned_series_are_refused_rather_than_compared_step_by_step():
    labels = pd.Series([False, True, True], index=hourly(3))
    shifted = pd.Series([True, True, False], index=hourly(3, start="2014-01-06 01:00"))
    with pytest.raises(ValueError, match="different indexes"):
        pointwise(labels, shifted)


# --- point-wise -------------------------------------------------------------


def test_pointwise_counts_every_step_as_a_sample():
    labels = steps("..#### ..##")
    alarms = steps(".###.. ...#")
    # TP = steps 2, 3, 9 = 3; FP = step 1 = 1; FN = steps 4, 5, 8 = 3
    # precision = 3/4, recall = 3/6, F1 = 2 * 0.75 * 0.5 / 1.25 = 0.6
    assert pointwise(labels, alarms) == Scores(0.75, 0.5, pytest.approx(0.6))


def test_pointwise_with_no_alarm_scores_zero_not_nan():
    assert pointwise(steps("..##"), steps("....")) == Scores(0.0, 0.0, 0.0)


def test_pointwise_without_attacks_scores_zero():
    # precision = 0 / 2 alarms; recall = 0/0 -> 0
    assert pointwise(steps("...."), steps(".##.")) == Scores(0.0, 0.0, 0.0)
    assert pointwise(steps("...."), steps("....")) == Scores(0.0, 0.0, 0.0)


def test_pointwise_with_an_alarm_at_every_step_has_full_recall():
    # precision = 3 attack steps / 10 alarms; recall = 3/3; F1 = 2*0.3/1.3
    assert pointwise(steps("..###....."), steps("##########")) == Scores(
        0.3, 1.0, pytest.approx(0.6 / 1.3)
    )


def test_pointwise_perfect_detector_scores_one():
    labels = steps("#..##..#")
    assert pointwise(labels, labels) == Scores(1.0, 1.0, 1.0)


def test_pointwise_leaves_unknown_steps_out():
    # known steps 0, 2, 3: TP = step 0; FP = step 2; FN = step 3; the alarm on
    # the unknown step 1 counts for nothing. precision = 1/2, recall = 1/2
    assert pointwise(unknown("#?.#"), steps("###.")) == Scores(0.5, 0.5, 0.5)


def test_pointwise_agrees_with_scikit_learn_on_random_series():
    rng = np.random.default_rng(7)
    for _ in range(20):
        labels, alarms = rng.random(300) < 0.3, rng.random(300) < rng.uniform(0, 0.5)
        p, r, f, _ = precision_recall_fscore_support(
            labels, alarms, average="binary", zero_division=0
        )
        assert pointwise(labels, alarms) == Scores(
            pytest.approx(p), pytest.approx(r), pytest.approx(f)
        )


# --- event-wise -------------------------------------------------------------


def test_one_alarm_per_event_gives_perfect_event_recall_but_low_point_recall():
    labels = steps(".#####.#####.")
    alarms = steps("...#......#..")
    assert event_recall(labels, alarms) == 1.0
    assert event_precision(labels, alarms) == 1.0
    assert pointwise(labels, alarms).recall == 0.2  # 2 of 10 attack steps


def test_event_scores_count_events_hit_and_alarm_segments_that_touch_an_event():
    labels = steps("..###...##....#")  # events (2, 4), (8, 9), (14, 14)
    alarms = steps("....#.##......#")  # segments (4, 4), (6, 7), (14, 14)
    # event recall: (2, 4) hit at its end step 4, (8, 9) missed, (14, 14) hit = 2/3
    # event precision: (4, 4) and (14, 14) touch an event, (6, 7) does not = 2/3
    # F1 = 2/3
    assert event_recall(labels, alarms) == pytest.approx(2 / 3)
    assert event_precision(labels, alarms) == pytest.approx(2 / 3)
    assert event_scores(labels, alarms) == Scores(
        pytest.approx(2 / 3), pytest.approx(2 / 3), pytest.approx(2 / 3)
    )


def test_an_alarm_on_the_first_or_last_step_detects_the_event():
    labels = steps("..###..")
    assert event_recall(labels, steps("..#....")) == 1.0
    assert event_recall(labels, steps("....#..")) == 1.0


def test_alarms_just_before_or_just_after_an_event_do_not_detect_it():
    labels = steps("..###..")
    alarms = steps(".#...#.")
    assert event_recall(labels, alarms) == 0.0
    assert event_precision(labels, alarms) == 0.0


def test_one_alarm_segment_spanning_two_events_counts_once():
    labels = steps("..###.##....##")  # events (2, 4), (6, 7), (12, 13)
    alarms = steps(".#######......")  # one segment (1, 7)
    # recall: 2 of 3 events; precision: 1 segment, and it touches an event
    assert event_recall(labels, alarms) == pytest.approx(2 / 3)
    assert event_precision(labels, alarms) == 1.0


def test_event_scores_edge_cases():
    assert event_scores(steps("...."), steps(".#..")) == Scores(0.0, 0.0, 0.0)  # no event
    assert event_scores(steps(".##."), steps("....")) == Scores(0.0, 0.0, 0.0)  # no alarm
    assert event_scores(steps("#..#"), steps("####")) == Scores(1.0, 1.0, 1.0)  # all alarms
    # events at both ends of the series, each hit on its outermost step
    assert event_scores(steps("##..##"), steps("#....#")) == Scores(1.0, 1.0, 1.0)


def test_alarms_on_unknown_steps_are_neither_hits_nor_false_alarms():
    labels = unknown(".??##.")
    # alarm segment (1, 2) lies on unknown steps only: ignored
    assert event_precision(labels, steps(".##.#.")) == 1.0
    # an alarm on unknown step 2 does not detect the event (3, 4) next to it
    assert event_recall(labels, steps("..#...")) == 0.0


# --- time to detect ---------------------------------------------------------


def test_time_to_detect_in_steps_per_event():
    labels = steps("..####..##.##")  # events (2, 5), (8, 9), (11, 12)
    alarms = steps("....#...#....")
    # (2, 5): first alarm at 4 -> 2 steps; (8, 9): at 8 -> 0; (11, 12): none
    delays = time_to_detect(labels, alarms)
    assert delays.tolist() == [2, 0, NA]
    assert delays.median() == 1  # one type: the missed attack is left out, not a None


def test_an_alarm_already_on_when_the_attack_starts_detects_it_at_once():
    assert time_to_detect(steps("..###."), steps(".###..")).tolist() == [0]


def test_time_to_detect_at_the_series_edges():
    # event (0, 3) at the start, alarmed on its last step; event (6, 7) at the end
    assert time_to_detect(steps("####..##"), steps("...#...#")).tolist() == [3, 1]
    assert time_to_detect(steps("...."), steps("#..#")).tolist() == []
    assert time_to_detect(steps("..##"), steps("....")).tolist() == [NA]


def test_time_to_detect_is_a_duration_with_nat_for_a_missed_attack_given_a_time_index():
    index = pd.date_range("2024-05-01 08:00", periods=10, freq="10min")
    labels = pd.Series(steps("..####..##"), index=index)
    alarms = pd.Series(steps("....#....."), index=index)
    # event starts 08:20, first alarm 08:40; the event at 09:20 is missed
    delays = time_to_detect(labels, alarms)
    assert delays.dtype.kind == "m"  # timedelta64
    assert delays[0] == pd.Timedelta(minutes=20) and delays[1] is pd.NaT
    assert delays.median() == pd.Timedelta(minutes=20)
    assert (delays / pd.Timedelta("1min")).tolist()[0] == 20  # minutes, NaN when missed


def test_time_to_detect_takes_explicit_timestamps_for_plain_arrays():
    seconds = np.array([0, 1, 2, 5, 9, 10], dtype="datetime64[s]")  # irregular steps
    labels, alarms = steps(".####."), steps("....#.")
    assert time_to_detect(labels, alarms, timestamps=seconds).tolist() == [pd.Timedelta(seconds=8)]


def test_timestamps_must_match_the_series_and_increase():
    labels, alarms = steps(".##."), steps("..#.")
    with pytest.raises(ValueError, match="3 timestamps for 4 steps"):
        time_to_detect(labels, alarms, timestamps=hourly(3))
    backwards = hourly(4)[::-1]
    with pytest.raises(ValueError, match="strictly increasing"):
        time_to_detect(labels, alarms, timestamps=backwards)


# --- false alarms per day ---------------------------------------------------


def test_false_alarms_per_day_counts_alarm_runs_in_normal_time():
    labels = np.zeros(50, dtype=bool)
    labels[10:12] = True  # one event (10, 11): 48 normal hours = 2 days
    alarms = np.zeros(50, dtype=bool)
    alarms[[11, 20, 21, 30, 49]] = True  # runs (11), (20, 21), (30), (49)
    # (11) is inside the event; 3 false alarms over 2 days
    assert false_alarms_per_day(labels, alarms, timestamps=hourly(50)) == 1.5
    series = pd.Series(labels, index=hourly(50))
    assert false_alarms_per_day(series, alarms) == 1.5


# Four reference detectors on one day of minutes with three attacks of 10 minutes.
DAY = pd.date_range("2026-03-02", periods=24 * 60, freq="min", tz="UTC")
ATTACKS = [(300, 309), (700, 709), (1100, 1109)]
MINUTES = pd.Series(False, index=DAY)
for _start, _end in ATTACKS:
    MINUTES.iloc[_start : _end + 1] = True
# Normal time: 1440 minutes - 3 attacks of 10 - 3 recoveries of 30 = 1320 minutes.
NORMAL_DAYS = 1320 / 1440


def detector(*alarmed: int) -> pd.Series:
    alarms = pd.Series(False, index=DAY)
    alarms.iloc[list(alarmed)] = True
    return alarms


def test_an_always_on_detector_raises_one_false_alarm_per_stretch_between_attacks():
    always = pd.Series(True, index=DAY)
    # before, between and after the three attacks: four stretches of normal time
    assert false_alarms_per_day(MINUTES, always) == pytest.approx(4 / NORMAL_DAYS)
    assert normal_time_in_alarm(MINUTES, always) == 1.0


def test_an_always_off_detector_raises_no_false_alarm():
    never = pd.Series(False, index=DAY)
    assert false_alarms_per_day(MINUTES, never) == 0.0
    assert normal_time_in_alarm(MINUTES, never) == 0.0


def test_one_alarm_per_attack_raises_no_false_alarm():
    one_each = detector(*(start + 3 for start, _ in ATTACKS))
    assert false_alarms_per_day(MINUTES, one_each) == 0.0
    assert normal_time_in_alarm(MINUTES, one_each) == 0.0


def test_alarms_only_between_attacks_are_all_false():
    between = detector(500, 501, 502, 900)  # two alarms: (500, 502) and (900)
    assert false_alarms_per_day(MINUTES, between) == pytest.approx(2 / NORMAL_DAYS)
    assert normal_time_in_alarm(MINUTES, between) == pytest.approx(4 / 1320)


def test_an_alarm_within_the_recovery_after_an_attack_is_not_false_and_one_after_it_is():
    last_step = ATTACKS[0][1]
    within = detector(*range(last_step, last_step + 31))  # until 30 minutes after
    assert false_alarms_per_day(MINUTES, within) == 0.0
    beyond = detector(*range(last_step, last_step + 32))  # one minute more
    assert false_alarms_per_day(MINUTES, beyond) == pytest.approx(1 / NORMAL_DAYS)
    assert normal_time_in_alarm(MINUTES, beyond) == pytest.approx(1 / 1320)


def test_the_recovery_can_be_changed_in_time_or_in_steps():
    last_step = ATTACKS[0][1]
    late = detector(last_step + 31)
    assert false_alarms_per_day(MINUTES, late, recovery="40min") == 0.0
    assert false_alarms_per_day(MINUTES, late, recovery=31) == 0.0
    normal = 1440 - 30
    assert false_alarms_per_day(MINUTES, late, recovery=0) == pytest.approx(1440 / normal)
    assert false_alarms_per_day(MINUTES, late, recovery="0s") == pytest.approx(1440 / normal)


@pytest.mark.parametrize(
    ("recovery", "message"),
    [(-1, "must not be negative"), ("-5min", "zero or more"), ("soon", "a duration")],
)
def test_a_bad_recovery_is_refused(recovery, message):
    with pytest.raises(ValueError, match=message):
        false_alarms_per_day(MINUTES, MINUTES, recovery=recovery)


def test_an_alarm_raised_before_the_attack_starts_is_a_false_alarm():
    start = ATTACKS[0][0]
    early = detector(start - 2, start - 1, start, start + 1)
    assert false_alarms_per_day(MINUTES, early) == pytest.approx(1 / NORMAL_DAYS)


def test_without_time_the_time_in_alarm_counts_steps_and_recovery_is_in_steps():
    labels, alarms = steps("..##...."), steps("....##..")
    assert normal_time_in_alarm(labels, alarms) == pytest.approx(2 / 6)
    assert normal_time_in_alarm(labels, alarms, recovery=1) == pytest.approx(1 / 5)
    with pytest.raises(ValueError, match="needs time"):
        normal_time_in_alarm(labels, alarms, recovery="15min")


def test_without_normal_time_the_time_in_alarm_is_nan_and_false_alarms_are_refused():
    labels = pd.Series(True, index=hourly(4))
    assert math.isnan(normal_time_in_alarm(labels, steps("#...")))
    with pytest.raises(ValueError, match="no normal time"):
        false_alarms_per_day(labels, steps("#..."))


def test_false_alarms_per_day_without_alarms_is_zero():
    assert false_alarms_per_day(steps("..##"), steps("...."), timestamps=hourly(4)) == 0.0


def test_gaps_between_recordings_are_not_monitored_time():
    # two days of hourly data, ten days apart: 48 steps of 1 hour = 2 days
    times = hourly(24).append(hourly(24, start="2014-01-16"))
    alarms = np.zeros(48, dtype=bool)
    alarms[[5, 30]] = True
    assert false_alarms_per_day(np.zeros(48, dtype=bool), alarms, timestamps=times) == 1.0


def test_unknown_hours_are_not_monitored_time():
    # 48 hourly steps, the last 24 unknown: 1 known day; the alarm at hour 30 is ignored
    labels = pd.Series(pd.array([False] * 24 + [None] * 24, dtype="boolean"), index=hourly(48))
    alarms = np.zeros(48, dtype=bool)
    alarms[[5, 30]] = True
    assert false_alarms_per_day(labels, alarms) == 1.0


def test_false_alarms_per_day_needs_time():
    with pytest.raises(ValueError, match="needs time"):
        false_alarms_per_day(steps("..##"), steps("#..."))


# --- point adjustment -------------------------------------------------------


def test_point_adjust_marks_a_whole_event_once_any_step_is_alarmed():
    labels = steps(".####..##.")
    alarms = steps("..#...#...")
    adjusted = point_adjust(labels, alarms)
    assert adjusted.tolist() == steps(".####.#...").tolist()
    assert alarms.tolist() == steps("..#...#...").tolist()  # the input is untouched
    # adjusted: TP = 4 (event (1, 4)), FP = 1 (step 6), FN = 2 (event (7, 8))
    # precision 4/5, recall 4/6, F1 = 2 * (4/5)(2/3) / (4/5 + 2/3) = 8/11
    assert point_adjusted(labels, alarms) == Scores(
        0.8, pytest.approx(2 / 3), pytest.approx(8 / 11)
    )
    assert point_adjusted_f1(labels, alarms) == pytest.approx(8 / 11)
    # point-wise: TP 1, FP 1, FN 5 -> precision 1/2, recall 1/6, F1 = 0.25
    assert pointwise(labels, alarms).f1 == pytest.approx(0.25)


def test_one_alarm_per_long_event_gives_perfect_pa_f1_but_tiny_pointwise_f1():
    labels = np.zeros(2000, dtype=bool)
    alarms = np.zeros(2000, dtype=bool)
    for start in range(50, 2000, 200):  # 10 attacks of 100 steps
        labels[start : start + 100] = True
        alarms[start + 50] = True  # one alarm in the middle of each
    assert point_adjusted_f1(labels, alarms) == 1.0
    # point-wise: precision 10/10, recall 10/1000, F1 = 2 * 0.01 / 1.01
    assert pointwise(labels, alarms).f1 == pytest.approx(0.02 / 1.01)
    assert pointwise(labels, alarms).f1 < 0.02


def test_a_random_detector_scores_high_on_pa_f1_but_not_pointwise_nor_etapr():
    rng = np.random.default_rng(2022)
    labels = np.zeros(20_000, dtype=bool)
    for start in range(500, 20_000, 2000):  # 10 attacks of 400 steps (20% of the time)
        labels[start : start + 400] = True
    coin = rng.random(20_000) < 0.02  # alarms at random, ignoring the data
    pa = point_adjusted(labels, coin)
    assert pa.recall == 1.0  # every 400-step attack gets a lucky alarm
    assert pa.f1 > 0.9  # 4000 / (4000 + ~320 false alarms)
    assert pointwise(labels, coin).f1 < 0.05
    assert etapr(labels, coin).f1 < 0.05  # ~2% of each attack is below theta_r = 10%


# --- eTaPR ------------------------------------------------------------------


def test_etapr_of_a_perfect_detector_is_one():
    labels = steps("..###..##.")
    assert etapr(labels, labels) == ETaPR(
        precision=1.0,
        recall=1.0,
        f1=1.0,
        precision_detection=1.0,
        precision_portion=1.0,
        recall_detection=1.0,
        recall_portion=1.0,
        detected_events=((2, 4), (7, 8)),
        correct_alarms=((2, 4), (7, 8)),
        n_events=2,
        n_alarms=2,
    )


def test_etapr_combines_detection_and_portion_scores():
    labels = steps("##########.....")  # event (0, 9) at the series start
    alarms = steps("........####...")  # segment (8, 11)
    result = etapr(labels, alarms)
    # event: 2 of 10 steps covered = 0.2 >= theta_r 0.1: detected, recall = (1 + 0.2)/2
    # alarm: 2 of 4 steps inside = 0.5 >= theta_p 0.5: correct, precision = (1 + 0.5)/2
    assert result.recall == pytest.approx(0.6)
    assert result.precision == pytest.approx(0.75)
    assert result.f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert (result.recall_detection, result.recall_portion) == (1.0, pytest.approx(0.2))
    assert (result.precision_detection, result.precision_portion) == (1.0, 0.5)
    assert result.detected_events == ((0, 9),)
    assert result.correct_alarms == ((8, 11),)


def test_etapr_an_alarm_mostly_outside_an_attack_does_not_detect_it():
    labels = np.zeros(45, dtype=bool)
    labels[0:10] = True  # A1 (0, 9)
    labels[20:40] = True  # A2 (20, 39)
    alarms = np.zeros(45, dtype=bool)
    alarms[9:13] = True  # P1 (9, 12): 1 of its 4 steps in A1
    alarms[20:22] = True  # P2 (20, 21): inside A2
    alarms[30] = True  # P3 (30, 30): inside A2
    result = etapr(labels, alarms)
    # Pruning: A1 covered 1/10 = 0.1, A2 3/20 = 0.15: both reach theta_r = 0.1.
    # P1 is 1/4 = 0.25 inside, below theta_p = 0.5: dropped, so A1 is covered 0.
    # recall = mean(0, (1 + 0.15)/2) = 0.2875
    # precision: weights sqrt(4), sqrt(2), sqrt(1); scores 0, 1, 1
    #   = (sqrt(2) + 1) / (2 + sqrt(2) + 1)
    assert result.recall == pytest.approx(0.2875)
    assert result.precision == pytest.approx((math.sqrt(2) + 1) / (3 + math.sqrt(2)))
    assert result.detected_events == ((20, 39),)
    assert result.correct_alarms == ((20, 21), (30, 30))
    assert result.recall_detection == 0.5
    assert result.precision_detection == pytest.approx((math.sqrt(2) + 1) / (3 + math.sqrt(2)))


def test_etapr_a_single_alarm_in_a_long_attack_is_too_little_for_theta_r():
    labels, alarms = np.zeros(30, dtype=bool), np.zeros(30, dtype=bool)
    labels[5:25] = True  # 20 steps
    alarms[10] = True  # covers 1/20 = 0.05 < theta_r = 0.1
    assert etapr(labels, alarms).f1 == 0.0
    assert etapr(labels, alarms).correct_alarms == ()  # pruned with the event
    relaxed = etapr(labels, alarms, theta_r=0.05)
    # recall = (1 + 0.05)/2 = 0.525; precision = (1 + 1)/2 = 1
    assert (relaxed.recall, relaxed.precision) == (pytest.approx(0.525), 1.0)


def test_etapr_an_alarm_at_every_step_scores_zero():
    # the one alarm segment (0, 19) is 3/20 = 0.15 inside the event, below theta_p
    labels = steps("..###" + "." * 15)
    assert etapr(labels, np.ones(20, dtype=bool)).f1 == 0.0


def test_etapr_is_zero_without_events_or_without_alarms():
    empty = etapr(steps("...."), steps(".#.."))
    assert (empty.precision, empty.recall, empty.f1, empty.n_events, empty.n_alarms) == (
        0.0,
        0.0,
        0.0,
        0,
        1,
    )
    assert etapr(steps(".##."), steps("....")).f1 == 0.0


def test_etapr_alarm_at_the_event_edges_and_series_edges():
    # events (0, 1) and (6, 7); alarms exactly on each event's outermost step
    result = etapr(steps("##....##"), steps("#......#"))
    # each event covered 1/2 -> recall (1 + 0.5)/2; each alarm fully inside -> precision 1
    assert (result.recall, result.precision) == (0.75, 1.0)


def test_etapr_delta_credits_alarms_just_after_the_attack():
    labels = steps("##########.....")  # event (0, 9)
    alarms = steps("........####...")  # segment (8, 11)
    # ambiguous section: from step 10 for int(0.5 * (9 - 0)) = 4 more steps: (10, 14);
    # weight 1/(1 + exp(x)), x from -6 to 6 in steps of 3: steps 10, 11 weigh
    w10, w11 = 1 / (1 + math.exp(-6)), 1 / (1 + math.exp(-3))
    score = 2 + w10 + w11  # steps 8, 9 in the event, 10, 11 in its ambiguous section
    result = etapr(labels, alarms, delta=0.5)
    assert result.recall == pytest.approx((1 + score / 10) / 2)  # ~0.6975
    assert result.precision == pytest.approx((1 + score / 4) / 2)  # ~0.9938
    assert etapr(labels, alarms, delta=0.0).recall == pytest.approx(0.6)


def test_etapr_ambiguous_section_is_cut_before_the_next_event():
    labels = steps("##########...###")  # A1 (0, 9), A2 (13, 15)
    alarms = steps("...........#....")  # one alarm at 11
    # A1's section would be (10, 14); cut to (10, 12), x = -6, 0, 6: step 11 weighs 0.5
    # A1 covered 0.5/10 = 0.05 >= theta_r 0.01: recall = mean((1 + 0.05)/2, 0) = 0.2625
    # the alarm is 0.5/1 inside: correct at theta_p 0.5, precision = (1 + 0.5)/2 = 0.75
    result = etapr(labels, alarms, theta_r=0.01, delta=0.5)
    assert result.recall == pytest.approx(0.2625)
    assert result.precision == pytest.approx(0.75)


def test_etapr_ambiguous_section_never_reaches_into_the_next_event():
    # A1 (0, 9): section (10, 10 + int(0.5 * 9)) = (10, 14) ends on A2's first step
    labels = steps("##########....##")  # A2 (14, 15)
    alarms = steps("..............##")  # exactly A2
    result = etapr(labels, alarms, theta_r=1e-4, delta=0.5)
    # only A2 is detected (the reference implementation also credits A1 with 0.0025)
    assert result.detected_events == ((14, 15),)
    assert (result.recall, result.precision) == (0.5, 1.0)


def test_etapr_tie_at_a_threshold_counts_as_reaching_it():
    labels = steps("#########.......##")  # A1 (0, 8), A2 (16, 17)
    alarms = steps("###........###....")  # (0, 2) and (11, 13)
    # A1's section (9, 9 + int(1.0 * 8)) = (9, 17) is cut to (9, 15): x = -6, -4, ..., 6
    # steps 11, 12, 13 weigh w(-2) + w(0) + w(2) = 1.5 (the logistic is symmetric),
    # so A1 is covered (3 + 1.5)/9 = 0.5 exactly: detected at theta_r = 0.5,
    # and (11, 13) is 1.5/3 = 0.5 inside: correct at theta_p = 0.5.
    result = etapr(labels, alarms, theta_p=0.5, theta_r=0.5, delta=1.0)
    assert result.detected_events == ((0, 8),)
    assert result.correct_alarms == ((0, 2), (11, 13))
    # recall = mean((1 + 0.5)/2, 0) = 0.375; precision = mean((1 + 1)/2, (1 + 0.5)/2)
    assert result.recall == pytest.approx(0.375)
    assert result.precision == pytest.approx(0.875)


def test_etapr_with_zero_thresholds_still_needs_some_overlap():
    result = etapr(steps("..###....."), steps("........#."), theta_p=0.0, theta_r=0.0)
    assert result.detected_events == ()
    assert result.f1 == 0.0


def test_etapr_refuses_thresholds_outside_zero_to_one():
    with pytest.raises(ValueError, match="theta_p"):
        etapr(steps(".#"), steps(".#"), theta_p=1.5)
    with pytest.raises(ValueError, match="delta"):
        etapr(steps(".#"), steps(".#"), delta=-0.1)


def _etapr_by_the_definition(labels, alarms, theta_p, theta_r, delta):
    """eTaPR written out step by step, slowly, to check the vectorised one against."""

    def runs(mask):
        found, start = [], None
        for t, on in enumerate([*mask, False]):
            if on and start is None:
                start = t
            elif not on and start is not None:
                found.append((start, t - 1))
                start = None
        return found

    anomalies, predictions = runs(labels), runs(alarms)
    if not anomalies or not predictions:
        return 0.0, 0.0
    sections = []
    for k, (s, e) in enumerate(anomalies):
        first, last = e + 1, e + 1 + int(delta * (e - s))
        if k + 1 < len(anomalies):
            last = min(last, anomalies[k + 1][0] - 1)
        sections.append((first, last) if last > first else None)
    score = np.zeros((len(anomalies), len(predictions)))
    for a, (s, e) in enumerate(anomalies):
        for p, (ps, pe) in enumerate(predictions):
            for t in range(ps, pe + 1):
                if s <= t <= e:
                    score[a, p] += 1
                elif sections[a] and sections[a][0] <= t <= sections[a][1]:
                    first, last = sections[a]
                    score[a, p] += 1 / (1 + math.exp(-6 + 12 * (t - first) / (last - first)))
    a_len = np.array([e - s + 1 for s, e in anomalies], dtype=float)
    p_len = np.array([e - s + 1 for s, e in predictions], dtype=float)
    tol = 1e-9
    while True:
        covered = score.sum(axis=1) / a_len
        weak = (covered > 0) & (covered < theta_r - tol)
        score[weak, :] = 0
        inside = score.sum(axis=0) / p_len
        stray = (inside > 0) & (inside < theta_p - tol)
        score[:, stray] = 0
        if not weak.any() and not stray.any():
            break
    recall = sum((1 + min(c, 1)) / 2 if c > 0 and c >= theta_r - tol else 0 for c in covered) / len(
        anomalies
    )
    weights = np.sqrt(p_len) / np.sqrt(p_len).sum()
    precision = sum(
        w * (1 + min(c, 1)) / 2
        for w, c in zip(weights, inside, strict=True)
        if c > 0 and c >= theta_p - tol
    )
    return precision, recall


def test_etapr_matches_a_step_by_step_reading_of_the_definition_on_random_series():
    rng = np.random.default_rng(3)
    for _ in range(150):
        n = int(rng.integers(5, 120))
        # blocky labels and alarms: runs of random lengths
        labels = np.repeat(rng.random(n) < 0.3, rng.integers(1, 12, n))[:n]
        alarms = np.repeat(rng.random(n) < 0.3, rng.integers(1, 6, n))[:n]
        theta_p = float(rng.choice([0.1, 0.5, 0.9]))
        theta_r = float(rng.choice([0.01, 0.1, 0.5]))
        delta = float(rng.choice([0.0, 0.3, 1.0]))
        precision, recall = _etapr_by_the_definition(labels, alarms, theta_p, theta_r, delta)
        result = etapr(labels, alarms, theta_p, theta_r, delta)
        assert (result.precision, result.recall) == (
            pytest.approx(precision, abs=1e-12),
            pytest.approx(recall, abs=1e-12),
        )


# --- BATADAL ----------------------------------------------------------------


def test_batadal_score_worked_example():
    labels = steps("...####...##...#####")  # attacks (3, 6), (10, 11), (15, 19)
    alarms = steps(".....#.........##...")
    alarms[1] = True  # a false alarm in normal hours
    result = batadal_score(labels, alarms)
    # TTD: (3, 6) first alarm at 5 -> 2 of 4; (10, 11) never -> 2 of 2; (15, 19) at 15 -> 0 of 5
    # S_TTD = 1 - mean(2/4, 2/2, 0/5) = 1 - 0.5 = 0.5
    # TPR = 3 alarmed of 11 attack hours; TNR = 8 quiet of 9 normal hours
    # S_CM = (3/11 + 8/9) / 2 = 115/198; S = 0.5 * 0.5 + 0.5 * 115/198
    assert result == BatadalScore(
        s=pytest.approx(0.25 + 115 / 396),
        s_ttd=0.5,
        s_cm=pytest.approx(115 / 198),
        tpr=pytest.approx(3 / 11),
        tnr=pytest.approx(8 / 9),
        ttd=(2, 2, 0),
        durations=(4, 2, 5),
    )


def test_batadal_perfect_silent_and_always_on_detectors():
    labels = steps("..###...##..")
    assert batadal_score(labels, labels).s == 1.0
    silent = batadal_score(labels, np.zeros(12, dtype=bool))
    # S_TTD = 1 - mean(3/3, 2/2) = 0; S_CM = (0 + 1)/2; S = 0.25
    assert (silent.s, silent.s_ttd, silent.s_cm, silent.ttd) == (0.25, 0.0, 0.5, (3, 2))
    always = batadal_score(labels, np.ones(12, dtype=bool))
    # S_TTD = 1 (every attack alarmed on its first hour); S_CM = (1 + 0)/2; S = 0.75
    assert (always.s, always.s_ttd, always.s_cm) == (0.75, 1.0, 0.5)


def test_batadal_ttd_of_an_attack_alarmed_only_on_its_last_hour():
    # attack (0, 3) at the start of the series, alarmed at hour 3: TTD 3 of 4
    result = batadal_score(steps("####...."), steps("...#...."))
    assert (result.ttd, result.s_ttd) == ((3,), 0.25)


def test_batadal_unknown_hours_are_left_out():
    labels = unknown("..??##?#..")  # attacks (4, 5), (7, 7)
    alarms = steps("#.#..##...")  # alarms at 2 and 6 fall on unknown hours
    alarms[7] = True
    result = batadal_score(labels, alarms)
    # TTD: (4, 5) first alarm 5 -> 1 of 2; (7, 7) -> 0 of 1; S_TTD = 1 - 0.25
    # known hours 0, 1, 4, 5, 7, 8, 9: TPR = 2/3 (5, 7 of 4, 5, 7); TNR = 3/4 (hour 0 alarmed)
    # S_CM = (2/3 + 3/4)/2 = 17/24; S = 0.5 * 0.75 + 0.5 * 17/24
    assert result.ttd == (1, 0)
    assert result.s_ttd == 0.75
    assert (result.tpr, result.tnr) == (pytest.approx(2 / 3), 0.75)
    assert result.s == pytest.approx(0.375 + 17 / 48)


def test_batadal_without_known_normal_hours_has_no_tnr_and_no_score():
    result = batadal_score(unknown("??##??#?"), steps("..#...#."))
    # attacks (2, 3) and (6, 6), both alarmed at once: TPR = 2/3 (hour 3 is quiet)
    assert (result.tpr, result.s_ttd) == (pytest.approx(2 / 3), 1.0)
    assert math.isnan(result.tnr) and math.isnan(result.s_cm) and math.isnan(result.s)


def test_batadal_without_attacks_has_no_tpr_and_no_score():
    result = batadal_score(steps("......"), steps("#....."))
    assert result.tnr == pytest.approx(5 / 6)
    assert (result.ttd, result.durations) == ((), ())
    assert math.isnan(result.tpr) and math.isnan(result.s_ttd) and math.isnan(result.s)


@needs_batadal
def test_batadal_dataset04_labels_score_as_documented():
    from icslab.data import load_batadal

    labels = load_batadal(BATADAL_DIR / "BATADAL_dataset04.csv").labels
    # the 219 labelled attack hours form 5 runs; every other hour is unknown
    assert [e - s + 1 for s, e in events(labels)] == [42, 60, 37, 7, 73]
    perfect = labels.fillna(False).astype(bool)
    result = batadal_score(labels, perfect)
    assert (result.tpr, result.s_ttd, result.ttd) == (1.0, 1.0, (0, 0, 0, 0, 0))
    assert math.isnan(result.tnr)  # no hour is known to be normal
    # with a time index, time to detect is a duration
    late = perfect.shift(2, fill_value=False)
    assert time_to_detect(labels, late).tolist() == [pd.Timedelta(hours=2)] * 5
