"""A team's alerts scored against its plant's ground truth (icslab.plant.truth), as
they happen: pure functions, no I/O.

Alerts carry the room service's wall clock; attacks run in plant time, which may
pass `speed` times faster. An attack's wall-clock window is
[started_at, started_at + (end - start) / speed): the first alert inside it detects
the attack, with a time to detect of (alert - started_at) * speed plant seconds.
As in icslab.metrics (RECOVERY, `false_alarms_per_day`), the process may still
look abnormal while it settles, so alerts in the RECOVERY after an attack (plant
time, so RECOVERY / speed of wall time) are neither hits nor false alarms; an alert
outside every attack's window and recovery is a false alarm, and so is one raised
before an attack starts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from icslab.metrics import RECOVERY
from icslab.plant.truth import TrueAttack

DETECTED, UNDER_WAY, MISSED = "detected", "under way", "missed"
FALSE_ALARM = "false alarm"


@dataclass(frozen=True)
class Alert:
    at: float  # seconds since the epoch: the room service's clock when it came
    user: str
    reason: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class AttackScore:
    attack: TrueAttack
    state: str  # DETECTED, UNDER_WAY or MISSED
    first_alert: Alert | None  # the first alert inside the attack's window
    time_to_detect: float | None  # plant seconds


@dataclass(frozen=True)
class JudgedAlert:
    alert: Alert
    verdict: str  # "detected L01", "during L01", "recovery of L01" or FALSE_ALARM


@dataclass(frozen=True)
class TeamScore:
    attacks: list[AttackScore]  # those started by `now`, in launch order
    alerts: list[JudgedAlert]  # oldest first

    @property
    def detected(self) -> int:
        return sum(a.state == DETECTED for a in self.attacks)

    @property
    def missed(self) -> int:
        return sum(a.state == MISSED for a in self.attacks)

    @property
    def false_alarms(self) -> int:
        return sum(j.verdict == FALSE_ALARM for j in self.alerts)

    @property
    def median_time_to_detect(self) -> float | None:
        """Plant seconds; None before the first detection."""
        times = [a.time_to_detect for a in self.attacks if a.time_to_detect is not None]
        return statistics.median(times) if times else None


@dataclass(frozen=True)
class _Window:
    """An attack on the wall clock, in seconds since the epoch."""

    attack: TrueAttack
    start: float
    end: float  # exclusive
    settled: float  # end of the recovery, exclusive

    @classmethod
    def of(cls, attack: TrueAttack) -> _Window:
        start = attack.started_at.timestamp()
        end = start + (attack.end - attack.start).total_seconds() / attack.speed
        return cls(attack, start, end, end + RECOVERY.total_seconds() / attack.speed)


def score(alerts: list[Alert], attacks: list[TrueAttack], now: float) -> TeamScore:
    """A team's attacks so far and alerts, judged at wall-clock time `now`."""
    windows = [_Window.of(a) for a in attacks if a.started_at.timestamp() <= now]
    alerts = sorted(alerts, key=lambda a: a.at)
    scores = []
    for window in windows:
        first = next((a for a in alerts if window.start <= a.at < window.end), None)
        if first is not None:
            delay = (first.at - window.start) * window.attack.speed
            scores.append(AttackScore(window.attack, DETECTED, first, delay))
        else:
            state = UNDER_WAY if now < window.end else MISSED
            scores.append(AttackScore(window.attack, state, None, None))
    firsts = {id(s.first_alert): s.attack.attack_id for s in scores if s.first_alert}
    return TeamScore(scores, [JudgedAlert(a, _verdict(a, windows, firsts)) for a in alerts])


def _verdict(alert: Alert, windows: list[_Window], firsts: dict[int, str]) -> str:
    if id(alert) in firsts:
        return f"detected {firsts[id(alert)]}"
    during = [w for w in windows if w.start <= alert.at < w.end]
    if during:
        return f"during {during[0].attack.attack_id}"
    settling = [w for w in windows if w.end <= alert.at < w.settled]
    if settling:
        return f"recovery of {settling[0].attack.attack_id}"
    return FALSE_ALARM
