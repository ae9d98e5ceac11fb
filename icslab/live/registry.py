"""Which notebooks are live: one small JSON file per broadcast in DATA_DIR/live/.

Both sides use it: `icslab live start|stop|list` (instructors, on the lab server)
and the live service, which reads it on every request, so a broadcast starts and
ends without restarting anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from icslab.errors import InputError
from icslab.files import write_atomic

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Broadcast:
    name: str
    instructor: str
    path: str  # relative to the instructor's work folder
    started: str


def folder(data_dir: Path) -> Path:
    return data_dir / "live"


def slug(path: str) -> str:
    stem = Path(path).stem.lower()
    return re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-")[:40] or "live"


def _checked(name: str) -> str:
    """A broadcast's name becomes a file name in DATA_DIR/live/: nothing else may."""
    if not NAME.match(name):
        raise InputError(
            f"broadcast name {name!r}: use 1-40 lowercase letters, digits, '-' or '_' "
            "(`icslab live list` shows the names)"
        )
    return name


def start(data_dir: Path, instructor: str, path: str, name: str | None = None) -> Broadcast:
    name = _checked(name or slug(path))
    broadcast = Broadcast(name, instructor, path, datetime.now(UTC).isoformat(timespec="seconds"))
    target = folder(data_dir) / f"{name}.json"
    write_atomic(target, json.dumps(asdict(broadcast)).encode(), 0o600)
    return broadcast


def stop(data_dir: Path, name: str) -> None:
    target = folder(data_dir) / f"{_checked(name)}.json"
    if not target.exists():
        raise InputError(f"no broadcast called {name!r} (live now: {_names(data_dir)})")
    target.unlink()


def get(data_dir: Path, name: str) -> Broadcast | None:
    if not NAME.match(name):
        return None
    try:
        return Broadcast(**json.loads((folder(data_dir) / f"{name}.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def live(data_dir: Path) -> list[Broadcast]:
    found = (get(data_dir, p.stem) for p in sorted(folder(data_dir).glob("*.json")))
    return [b for b in found if b is not None]


def _names(data_dir: Path) -> str:
    return ", ".join(b.name for b in live(data_dir)) or "none"
