"""A live plant's ground truth: every attack launched on it, with its start, end, kind
and targets, as the plant writes it and the scoring reads it.

    DATA_DIR/plants/<team>/truth.json    (LabPaths.plants; 0600, the lab's alone)

The plant rewrites the file whole (atomically) whenever an attack starts or is cut
short; readers see the old list or the new one. Participants never see it: it is in
the lab's data dir, which no participant's server mounts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from icslab.files import write_atomic

FILE = "truth.json"


@dataclass(frozen=True)
class TrueAttack:
    attack_id: str  # "L01", "L02", ... in launch order on that plant
    kind: str  # one of icslab.sim.attacks.KINDS
    targets: tuple[str, ...]  # tags, or a PLC for reconnaissance
    start: pd.Timestamp  # UTC, inclusive: the plant's (simulated) time
    end: pd.Timestamp  # UTC, exclusive
    by: str  # "instructor", or "red team <host:port>" for a participant's write
    started_at: pd.Timestamp  # UTC wall clock when it started (alerts are stamped so)
    speed: float  # simulated seconds per wall-clock second while it ran


def truth_file(plant_folder: Path) -> Path:
    return plant_folder / FILE


def write_truth(plant_folder: Path, attacks: list[TrueAttack]) -> None:
    rows = [
        {**asdict(a), "targets": list(a.targets),
         **{k: getattr(a, k).isoformat() for k in ("start", "end", "started_at")}}
        for a in attacks
    ]  # fmt: skip
    write_atomic(truth_file(plant_folder), json.dumps(rows, indent=1).encode(), 0o600)


def read_truth(plant_folder: Path) -> list[TrueAttack]:
    """The plant's attacks so far ([] before the first, or with no plant)."""
    try:
        rows = json.loads(truth_file(plant_folder).read_text())
    except FileNotFoundError:
        return []
    return [
        TrueAttack(
            row["attack_id"], row["kind"], tuple(row["targets"]),
            pd.Timestamp(row["start"]), pd.Timestamp(row["end"]), row["by"],
            pd.Timestamp(row["started_at"]), float(row["speed"]),
        )
        for row in rows
    ]  # fmt: skip
