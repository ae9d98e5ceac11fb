"""The live plants' board: each team's alerts (the room's store) scored against its
plant's ground truth (icslab.plant.truth, reread at each request: the plant
rewrites it as attacks start and end). Teams without a plant folder are left out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from icslab.plant.scoring import score
from icslab.plant.truth import read_truth
from icslab.room.store import Store

LATEST = 20  # alerts shown per team, newest first


def board(folder_of: Callable[[str], Path], teams: list[str], store: Store, now: float) -> dict:
    """`folder_of(team)`: the plant folder whose truth the team's alerts are scored on
    (icslab.plant.lifecycle.folder_of: theirs, or the room's shared plant)."""
    shown = []
    for team in teams:
        folder = folder_of(team)
        if not folder.is_dir():
            continue
        truth = read_truth(folder)
        # A red team's writes are what participants did to their own plant: shown, not
        # scored as the instructor's attacks are.
        attacks = [a for a in truth if a.by == "instructor"]
        writes = [a for a in truth if a.by != "instructor"]
        scored = score(store.alerts(team), attacks, now)
        shown.append(
            {
                "name": team,
                "detected": scored.detected,
                "attacks_so_far": len(scored.attacks),
                "median_time_to_detect": scored.median_time_to_detect,
                "false_alarms": scored.false_alarms,
                "missed": scored.missed,
                "attacks": [
                    {
                        "id": a.attack.attack_id,
                        "kind": a.attack.kind,
                        "targets": list(a.attack.targets),
                        "start": a.attack.start.isoformat(),
                        "end": a.attack.end.isoformat(),
                        "state": a.state,
                        "detected": a.first_alert is not None,
                        "time_to_detect": a.time_to_detect,
                    }
                    for a in scored.attacks
                ],
                "red_team": {
                    "writes": len(writes),
                    "latest": [
                        {"at": w.start.isoformat(), "by": w.by, "targets": list(w.targets)}
                        for w in reversed(writes[-LATEST:])
                    ],
                },
                "alerts": [
                    {
                        "at": _iso(j.alert.at),
                        "user": j.alert.user,
                        "reason": j.alert.reason,
                        "tags": list(j.alert.tags),
                        "verdict": j.verdict,
                    }
                    for j in reversed(scored.alerts[-LATEST:])
                ],
            }
        )
    return {"generated": _iso(now), "teams": shown}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
