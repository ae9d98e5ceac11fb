"""A team's alerts scored against its live plant's ground truth: the first alert in
an attack detects it, alerts with nothing under way are false alarms, alerts while
the process settles are neither (as icslab.metrics scores recorded data)."""

import pandas as pd
import pytest

from icslab.metrics import RECOVERY
from icslab.plant.scoring import FALSE_ALARM, Alert, score
from icslab.plant.truth import TrueAttack

T0 = pd.Timestamp("2026-12-07 09:00", tz="UTC")  # the wall clock when the attack started
WALL = T0.timestamp()
REC = RECOVERY.total_seconds()


def attack(after=0.0, plant_seconds=600, speed=1.0, attack_id="L01"):
    """An attack started `after` wall seconds past T0, lasting `plant_seconds`."""
    start = pd.Timestamp("2026-03-02 04:00", tz="UTC")
    return TrueAttack(
        attack_id, "sensor_constant", ("LIT101",), start,
        start + pd.Timedelta(seconds=plant_seconds), "instructor",
        T0 + pd.Timedelta(seconds=after), speed,
    )  # fmt: skip


def alert(at, user="p01"):
    """An alert `at` wall seconds past T0."""
    return Alert(WALL + at, user, "LIT101 flat", ("LIT101",))


def test_an_alert_30_s_into_an_attack_detects_it_in_30_s():
    scored = score([alert(30)], [attack()], now=WALL + 60)
    [lit] = scored.attacks
    assert (lit.state, lit.time_to_detect, lit.first_alert) == ("detected", 30.0, alert(30))
    assert (scored.detected, scored.median_time_to_detect, scored.false_alarms) == (1, 30.0, 0)
    assert [j.verdict for j in scored.alerts] == ["detected L01"]


def test_at_ten_times_speed_3_wall_seconds_are_30_plant_seconds():
    # 600 plant seconds at speed 10 are 60 wall seconds.
    scored = score([alert(3)], [attack(speed=10)], now=WALL + 10)
    assert scored.attacks[0].time_to_detect == pytest.approx(30.0)
    assert score([alert(59.9)], [attack(speed=10)], WALL + 100).detected == 1
    late = score([alert(60)], [attack(speed=10)], WALL + 100)
    assert (late.detected, late.missed, late.false_alarms) == (0, 1, 0)  # in its recovery


def test_an_alert_with_no_attack_under_way_is_a_false_alarm():
    scored = score([alert(30)], [], now=WALL + 60)
    assert (scored.false_alarms, scored.attacks, scored.median_time_to_detect) == (1, [], None)
    assert [j.verdict for j in scored.alerts] == [FALSE_ALARM]


def test_an_alert_while_the_process_settles_is_neither_a_hit_nor_false():
    scored = score([alert(600 + 60)], [attack()], now=WALL + 3600)
    assert (scored.detected, scored.missed, scored.false_alarms) == (0, 1, 0)
    assert [j.verdict for j in scored.alerts] == ["recovery of L01"]


def test_an_alert_before_an_attack_starts_does_not_detect_it():
    scored = score([alert(-1)], [attack()], now=WALL + 60)
    assert (scored.detected, scored.false_alarms) == (0, 1)
    assert scored.attacks[0].state == "under way"


def test_two_alerts_in_one_attack_count_once():
    scored = score([alert(45, "p02"), alert(30)], [attack()], now=WALL + 60)
    assert (scored.detected, scored.false_alarms) == (1, 0)
    assert scored.attacks[0].first_alert == alert(30)
    assert [j.verdict for j in scored.alerts] == ["detected L01", "during L01"]


@pytest.mark.parametrize(
    ("at", "verdict"),
    [
        (-0.001, FALSE_ALARM),  # just before the start
        (0, "detected L01"),  # exactly at the start: inside
        (599.999, "detected L01"),  # the end is exclusive
        (600, "recovery of L01"),  # exactly at the end: settling
        (600 + REC - 0.001, "recovery of L01"),
        (600 + REC, FALSE_ALARM),  # exactly at end + recovery: normal time again
    ],
)
def test_the_windows_boundaries(at, verdict):
    scored = score([alert(at)], [attack()], now=WALL + 7200)
    assert [j.verdict for j in scored.alerts] == [verdict]
    assert scored.detected == (verdict == "detected L01")


def test_an_attack_is_under_way_until_its_end_then_missed_and_later_ones_wait():
    attacks = [attack(), attack(after=3600, attack_id="L02")]
    assert [a.state for a in score([], attacks, WALL + 599).attacks] == ["under way"]
    assert [a.state for a in score([], attacks, WALL + 600).attacks] == ["missed"]
    both = score([alert(3610)], attacks, WALL + 3700)
    assert [a.state for a in both.attacks] == ["missed", "detected"]
    assert (both.detected, len(both.attacks), both.missed) == (1, 2, 1)


def test_the_median_time_to_detect_is_over_detected_attacks():
    attacks = [attack(), attack(3600, attack_id="L02"), attack(7200, attack_id="L03")]
    scored = score([alert(10), alert(3600 + 50)], attacks, WALL + 7300)
    assert scored.median_time_to_detect == 30.0
    assert [a.state for a in scored.attacks] == ["detected", "detected", "under way"]
