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
import math
import os
import platform
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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


# --- the plan ---------------------------------------------------------------------------

MACHINE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([MGT])(?:I?B)?\s*/\s*(\d+)\s*$", re.I)
UNITS = {"M": MiB, "G": GiB, "T": 1024 * GiB}
DEFAULT_MACHINES = ("16G/4", "32G/8", "64G/16")
HEADROOM = 0.15  # of each machine's memory and cores: the OS, the Docker engine, bursts
RUN_SECONDS = 60  # the longest a module's cells may take when everyone runs them at once
PER_TEAM = 10  # participants per team when --teams is not given


@dataclass(frozen=True)
class MachineSize:
    text: str  # as asked, e.g. "32G/8"
    memory_bytes: int
    cores: int


def parse_machine(text: str) -> MachineSize:
    """'32G/8' -> 32 GiB of memory and 8 cores; InputError says how to write it."""
    match = MACHINE.match(text)
    if not match or float(match.group(1)) <= 0 or int(match.group(3)) < 1:
        raise InputError(
            f"--machine {text!r}: write MEMORY/CORES with M, G or T, e.g. 32G/8 "
            "(32 GiB of memory, 8 cores)"
        )
    amount, unit, cores = match.groups()
    return MachineSize(text.strip(), int(float(amount) * UNITS[unit.upper()]), int(cores))


@dataclass(frozen=True)
class SizePlan:
    """The week on machines of one size: the manager and `machines - 1` workers."""

    machine: MachineSize
    machines: int
    bound: str  # what fills a worker first: "memory" or "CPU"
    manager_holds: int  # participants at most, beside the hub, services and plants
    worker_holds: int
    manager_participants: int  # as planned: spread evenly, the manager no more than it holds
    worker_participants: int  # on the fullest worker (0 with no worker)


@dataclass(frozen=True)
class Plan:
    participants: int
    teams: int
    plant: bool
    sizes: list[SizePlan]
    assumptions: list[str]


@dataclass(frozen=True)
class Demand:
    """What the figures say the week needs: per participant, per node, on the manager."""

    memory_module: str
    memory_each: int  # a participant's container at its peak in the heaviest module
    cpu_module: str
    cores_each: float  # CPU-seconds of the CPU-heaviest module over the run's seconds
    shared_per_node: int
    manager_memory: int  # hub, proxy, services, and the plants' process
    manager_cores: float  # the plants'


def demand(figures: Figures, teams: int, plant: bool, run_seconds: float) -> Demand:
    modules = figures.memory.modules
    memory_module = max(modules, key=lambda name: modules[name].private_bytes.max)
    cpu_module = max(modules, key=lambda name: modules[name].cpu_seconds.max)
    plants = figures.plant
    if modules[memory_module].private_bytes.max <= 0:
        raise InputError(
            f"the figures say no module takes memory (module {memory_module}: 0 bytes): "
            "they were not measured; measure again with `icslab bench memory`"
        )
    return Demand(
        memory_module=memory_module,
        memory_each=int(
            max(modules[memory_module].private_bytes.max, figures.memory.idle_server_bytes.max)
        ),
        cpu_module=cpu_module,
        cores_each=modules[cpu_module].cpu_seconds.max / run_seconds,
        shared_per_node=figures.memory.shared_data_bytes,
        manager_memory=figures.memory.hub_bytes
        + (plants.process_bytes + teams * plants.per_plant_bytes if plant else 0),
        manager_cores=teams * plants.per_plant_cores if plant else 0.0,
    )


def holds(machine: MachineSize, need: Demand, headroom: float, manager: bool) -> tuple[int, str]:
    """How many participants at work a machine holds, and whether memory or CPU bounds it."""
    memory = machine.memory_bytes * (1 - headroom) - need.shared_per_node
    cores = machine.cores * (1 - headroom)
    if manager:
        memory, cores = memory - need.manager_memory, cores - need.manager_cores
    by_memory = max(-1, math.floor(memory / need.memory_each))
    by_cpu = max(-1, math.floor(cores / need.cores_each)) if need.cores_each else by_memory
    return min(by_memory, by_cpu), "memory" if by_memory <= by_cpu else "CPU"


def plan(
    figures: Figures,
    participants: int,
    machines: Sequence[MachineSize],
    teams: int | None = None,
    plant: bool = False,
    headroom: float = HEADROOM,
    run_seconds: float = RUN_SECONDS,
) -> Plan:
    """How many machines of each size the week needs; InputError lists what to fix."""
    problems = input_problems(participants, teams, headroom, run_seconds)
    if not machines:
        problems.append("--machine: give at least one machine size, e.g. 32G/8")
    if problems:
        raise InputError(*problems)
    teams = teams or math.ceil(participants / PER_TEAM)
    need = demand(figures, teams, plant, run_seconds)
    sizes = []
    for machine in machines:
        worker, bound = holds(machine, need, headroom, manager=False)
        manager, _ = holds(machine, need, headroom, manager=True)
        if worker < 1:
            problems.append(
                f"--machine {machine.text}: holds no participant at work "
                f"({need.memory_each / MiB:.0f} MiB and {need.cores_each:.2f} cores each, "
                f"{need.shared_per_node / MiB:.0f} MiB shared per node, {headroom:.0%} kept "
                "back): ask for a bigger machine"
            )
        elif manager < 0:
            problems.append(
                f"--machine {machine.text}: too small for the manager's hub and services"
                f"{' and plants' if plant else ''} ({need.manager_memory / MiB:.0f} MiB, "
                f"{need.manager_cores:.2f} cores): ask for a bigger machine"
            )
        else:
            sizes.append(size_plan(machine, participants, manager, worker, bound))
    if problems:
        raise InputError(*problems)
    return Plan(participants, teams, plant, sizes, assumptions(figures, need, teams, plant,
                                                               headroom, run_seconds))  # fmt: skip


def input_problems(
    participants: int, teams: int | None, headroom: float, run_seconds: float
) -> list[str]:
    problems = []
    if participants < 1:
        problems.append(f"--participants {participants}: plan for at least 1 participant")
    elif teams is not None and not 1 <= teams <= participants:
        problems.append(
            f"--teams {teams}: between 1 and the {participants} participants "
            "(a team has at least one member)"
        )
    if not 0 <= headroom < 1:
        problems.append(f"--headroom {headroom:g}: a fraction of each machine, from 0 to below 1")
    if run_seconds <= 0:
        problems.append(f"--run-seconds {run_seconds:g}: a number of seconds above 0")
    return problems


def plans(
    figures: Figures,
    counts: Sequence[int],
    machines: Sequence[str],
    teams: int | None = None,
    plant: bool = False,
    headroom: float = HEADROOM,
    run_seconds: float = RUN_SECONDS,
) -> list[Plan]:
    """`plan` for each number of participants, on machine sizes as written (`32G/8`);
    every problem in the input is listed at once."""
    problems = [p for count in counts for p in input_problems(count, teams, headroom, run_seconds)]
    sizes = []
    for text in machines:
        try:
            sizes.append(parse_machine(text))
        except InputError as error:
            problems += error.problems
    if not counts:
        problems.append("--participants: give at least one number of participants")
    if problems:
        raise InputError(*dict.fromkeys(problems))  # each once, in order
    return [plan(figures, count, sizes, teams, plant, headroom, run_seconds) for count in counts]


def size_plan(
    machine: MachineSize, participants: int, manager: int, worker: int, bound: str
) -> SizePlan:
    """The fewest machines that hold everyone, spread evenly (swarm's spread strategy),
    the manager taking no more than it holds beside the lab's own services."""
    workers = 0 if participants <= manager else math.ceil((participants - manager) / worker)
    even = math.ceil(participants / (workers + 1))
    on_manager = min(manager, even)
    on_workers = math.ceil((participants - on_manager) / workers) if workers else 0
    return SizePlan(machine, workers + 1, bound, manager, worker, on_manager, on_workers)


def assumptions(
    figures: Figures, need: Demand, teams: int, plant: bool, headroom: float, run_seconds: float
) -> list[str]:
    """Every assumption the plan rests on, in words, with the figures it used."""
    memory, plants = figures.memory, figures.plant
    measured = memory.measured
    said = [
        f"Everyone runs module {need.memory_module} at the same moment (the heaviest in memory): "
        f"each participant's container (server, spare kernel, notebook's kernel) peaks at "
        f"{need.memory_each / MiB:.0f} MiB, the most of the {memory.participants} measured.",
        f"Everyone runs module {need.cpu_module}'s cells start to end at the same moment (the "
        f"heaviest in CPU, {memory.modules[need.cpu_module].cpu_seconds.max:.0f} CPU-seconds "
        f"each) and all finish within {run_seconds:g} s: {need.cores_each:.2f} cores each.",
        f"Each machine keeps {headroom:.0%} of its memory and cores for the OS and the Docker "
        f"engine, and holds once the {need.shared_per_node / MiB:.0f} MiB of files its kernels "
        "map (datasets, libraries: one page cache per node, however many kernels read it).",
        f"The manager also carries the hub, proxy and the lab's services "
        f"({memory.hub_bytes / MiB:.0f} MiB; their CPU is not counted)"
        + (
            f" and the {teams} teams' plants in one process ({plants.process_bytes / MiB:.0f} "
            f"MiB + {plants.per_plant_bytes / MiB:.0f} MiB and "
            f"{100 * plants.per_plant_cores:.1f}% of a core per plant)."
            if plant
            else "; no live plants."
        ),
        "Participants spread evenly over the machines (swarm's spread strategy); an idle "
        f"server holds {memory.idle_server_bytes.max / MiB:.0f} MiB, so idle participants "
        "fit many times over.",
        f"Figures measured on {measured.date[:10]} ({measured.machine.cpus} CPUs, "
        f"{measured.machine.memory_bytes / GiB:.0f} GiB, commit {measured.commit}) by "
        f"`{measured.command}` on the {memory.datasets} datasets; plants by "
        f"`{plants.measured.command}`.",
    ]
    for name, module in memory.modules.items():
        if module.failures or module.oom_kills:
            said.append(
                f"Warning: when measured, module {name} had {module.failures} failed runs and "
                f"{module.oom_kills} OOM kills: its figures may be low; measure again."
            )
    return said


def summary(plans: Sequence[Plan]) -> tuple[list[str], list[list[str]]]:
    """One row per plan (participants, teams with plants), one column per machine size:
    how many machines, and what bounds a worker."""
    header = ["participants", "plants", *(size.machine.text for size in plans[0].sizes)]
    rows = [
        [
            str(p.participants),
            f"{p.teams} teams" if p.plant else "none",
            *(f"{size.machines} ({size.bound})" for size in p.sizes),
        ]
        for p in plans
    ]
    return header, rows
