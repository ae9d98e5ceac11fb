"""`icslab test`, `lint` and `bench`: what developers of icslab run."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

from icslab.cli.options import commands
from icslab.errors import InputError

app = commands()


def _run(command: list[str]) -> None:
    raise typer.Exit(subprocess.call(command))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(
    ctx: typer.Context,
    unit: Annotated[bool, typer.Option("--unit", help="Only the fast unit tests.")] = False,
) -> None:
    """Run the test suite (extra arguments go to pytest)."""
    target = ["tests/unit"] if unit else []
    _run([sys.executable, "-m", "pytest", *target, *ctx.args])


@app.command()
def lint() -> None:
    """Ruff on Python and notebooks, mypy on icslab and bench, through pre-commit."""
    _run([sys.executable, "-m", "pre_commit", "run", "--all-files"])


BENCHMARKS = {
    "batadal": ["bench/batadal.py"],
    "spawn": ["bench/spawn.py"],
    "spawn-docker": ["bench/spawn.py", "--spawner", "docker"],
    "datasets": ["bench/datasets.py"],
    "notebooks": ["bench/notebooks.py"],
    "homework-pdf": ["bench/homework_pdf.py"],
    "memory": ["bench/memory.py", "--record"],
    "plant": ["bench/plant.py", "--record"],
    "swarm": ["bench/swarm.py"],
}
# memory and plant --record their figures into paths.CAPACITY_FIGURES, which
# `icslab capacity` reads: `make bench` refreshes them.

DOCKER_ONLY = ("spawn-docker", "memory")  # need a Docker engine and the participant image
# Makes a swarm of this engine and a second node: run by name, on an engine in no swarm.
BY_NAME_ONLY = ("swarm",)


@app.command()
def bench(
    which: Annotated[
        list[str] | None,
        typer.Argument(
            help="spawn, spawn-docker, datasets, batadal, notebooks, homework-pdf, memory, "
            "plant, swarm [default: all that can run, except swarm]."
        ),
    ] = None,
) -> None:
    """Print the benchmarks' figures (spawn times; dataset build; BATADAL; notebooks;
    memory of a room working at once; live plants), and refresh the capacity planner's
    (memory, plant)."""
    from icslab.hub.docker_env import engine_answers

    unknown = [name for name in which or [] if name not in BENCHMARKS]
    if unknown:
        raise InputError(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(BENCHMARKS)}")
    if not which:
        which = [
            n
            for n in BENCHMARKS
            if n not in BY_NAME_ONLY and (n not in DOCKER_ONLY or engine_answers())
        ]
    status = 0
    for name in which:
        status |= subprocess.call([sys.executable, *BENCHMARKS[name]])
    raise typer.Exit(status)
