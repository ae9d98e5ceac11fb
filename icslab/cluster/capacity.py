"""How many machines of what size a week needs, from figures the lab measured itself.

The benches (`icslab bench`: bench/memory.py, bench/plant.py with --record) write
their parts of one figures file (paths.CAPACITY_FIGURES); `plan` turns those figures,
a number of participants and teams, and machine sizes into machine counts, each with
what bounds it and every assumption said in words.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import subprocess
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.paths import CAPACITY_FIGURES, REPO

MiB = 2**20
GiB = 2**30


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Spread(Strict):
    """A figure over the participants measured: its median and its maximum."""

    median: float = Field(ge=0)
    max: float = Field(ge=0)


class Machine(Strict):
    cpus: int = Field(ge=1)
    memory_bytes: int = Field(ge=1)
    cpu_model: str


class Provenance(Strict):
    """Where, when and how a part was measured."""

    date: str
    commit: str
    command: str
    machine: Machine


class ModuleCost(Strict):
    """One curriculum module run by every participant at once, per participant."""

    private_bytes: Spread  # peak anon of the whole container: server, spare and notebook kernel
    kernel_uss_bytes: Spread  # peak USS of the notebook's kernel
    cpu_seconds: Spread  # the container's CPU time over the module
    peak_cores: Spread  # the container's highest CPU use over a sampling window
    wall_seconds: Spread
    page_cache_growth_bytes: int
    failures: int = Field(ge=0)
    oom_kills: int = Field(ge=0)


class MemoryFigures(Strict):
    """bench/memory.py's part: a room working through the curriculum in docker mode."""

    measured: Provenance
    participants: int = Field(ge=1)
    datasets: str
    idle_server_bytes: Spread  # a started server's container before any module (anon)
    hub_bytes: int = Field(ge=0)  # hub, proxy and the lab's services (PSS, peak)
    shared_data_bytes: int = Field(ge=0)  # mapped files kernels share: once per node
    modules: dict[str, ModuleCost] = Field(min_length=1)


class PlantFigures(Strict):
    """bench/plant.py's part: the lab's plant process, alone and with several plants."""

    measured: Provenance
    plants: int = Field(ge=2)  # how many shared the process measured
    process_bytes: int = Field(ge=1)  # the process's fixed cost (RSS less its plants')
    per_plant_bytes: int = Field(ge=0)  # RSS each further plant adds
    per_plant_cores: float = Field(ge=0)  # CPU at 1 Hz, with `plants` in the process


class Figures(Strict):
    memory: MemoryFigures
    plant: PlantFigures


PARTS: dict[str, type[Strict]] = {"memory": MemoryFigures, "plant": PlantFigures}


def measured_here(command: Sequence[str]) -> dict[str, Any]:
    """The provenance of figures measured now on this machine by `command`."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    changed = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": (commit or "unknown") + (" with uncommitted changes" if changed else ""),
        "command": " ".join(command),
        "machine": {"cpus": os.cpu_count() or 1, "memory_bytes": memory, "cpu_model": model},
    }


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Benches recording at the same time take turns (a lock on the folder itself)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def record(part: str, figures: dict[str, Any], path: Path = CAPACITY_FIGURES) -> None:
    """Put one bench's part into the figures file, keeping the other parts: checked
    first, then written whole (temp file + rename) under a lock."""
    if part not in PARTS:
        raise ValueError(f"no figures part {part!r}: one of {', '.join(PARTS)}")
    checked = PARTS[part].model_validate(figures).model_dump(mode="json")
    with _locked(path.parent):
        whole = _read(path) if path.exists() else {}
        whole[part] = checked
        write_atomic(path, (json.dumps(whole, indent=2) + "\n").encode(), 0o644)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path}: no capacity figures; measure them with `icslab bench memory plant` "
            "(needs Docker and the participant image) or restore the file from git"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(
            f"{path}: not a capacity figures file ({error}); restore it from git "
            "(`git checkout -- bench/figures/capacity.json`) or measure again "
            "with `icslab bench memory plant`"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a JSON object of figures was expected; restore it from git")
    return data


def load_figures(path: Path = CAPACITY_FIGURES) -> Figures:
    """The figures file, every part checked; InputError says what to fix."""
    data = _read(path)
    missing = [part for part in PARTS if part not in data]
    if missing:
        raise InputError(
            *(f"{path}: no {part!r} figures; measure them with `icslab bench {part}`"
              for part in missing)
        )  # fmt: skip
    try:
        return Figures.model_validate(data)
    except ValidationError as error:
        raise InputError(
            *(f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()),
            "restore the file from git or measure again with `icslab bench memory plant`",
        ) from None
