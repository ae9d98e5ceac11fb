"""`icslab notebooks ...`: build the participant and instructor versions, run them."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from icslab.cli.options import group
from icslab.cli.output import console
from icslab.errors import InputError

app = group("Workshop notebooks: one source, a participant and an instructor version.")

Names = Annotated[list[str] | None, typer.Argument(help="Workshops [default: all].")]


def _workshops(names: list[str] | None):
    from icslab.notebooks.manifest import available, load_workshop

    return [load_workshop(name) for name in (names or available())]


@app.command("list")
def list_workshops() -> None:
    """The workshops and their modules."""
    for workshop in _workshops(None):
        table = Table(title=f"{workshop.name}: {workshop.title}", title_justify="left")
        for column in ("notebook", "module", "min", "datasets"):
            table.add_column(column)
        for module in workshop.modules:
            table.add_row(
                module.file, module.title, str(module.minutes), ", ".join(module.datasets)
            )
        console.print(table)


@app.command()
def build(
    names: Names = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder [default: workshops/build/].")
    ] = None,
) -> None:
    """Write OUT/participant/<workshop>/ (no solutions) and OUT/instructor/<workshop>/."""
    from icslab.notebooks.build import DEFAULT_OUT, build_workshop

    for workshop in _workshops(names):
        folders = build_workshop(workshop, out or DEFAULT_OUT)
        for version, folder in folders.items():
            console.print(f"{workshop.name}: {version} version in {folder}", highlight=False)


@app.command()
def run(
    name: Annotated[str, typer.Argument(help="The workshop.")],
    version: Annotated[str, typer.Option(help="participant | instructor")] = "instructor",
    module: Annotated[
        list[str] | None, typer.Option("--module", help="Only this notebook (repeatable).")
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="Use the small sample datasets instead of train/test.")
    ] = False,
) -> None:
    """Execute a workshop's notebooks top to bottom, as the tests do, and time each."""
    from nbclient.exceptions import CellExecutionError

    from icslab.notebooks.build import build_workshop
    from icslab.notebooks.execute import QUICK, execute
    from icslab.notebooks.variants import VERSIONS

    if version not in VERSIONS:
        raise InputError(f"--version {version!r}: use participant or instructor")
    (workshop,) = _workshops([name])
    files = [workshop.module(file).file for file in module] if module else None
    import nbformat

    table = Table("notebook", "seconds", "result")
    with tempfile.TemporaryDirectory() as scratch:
        folder = build_workshop(workshop, Path(scratch))[version]
        # The capstone submits predictions: a trial run must not hand them in.
        from icslab.capstone import practice_environment

        env = practice_environment(Path(scratch) / "submissions")
        failed = False
        for item in workshop.modules:
            if files and item.file not in files:
                continue
            notebook = nbformat.read(folder / item.file, as_version=4)
            started = time.monotonic()
            try:
                execute(
                    notebook,
                    cwd=folder,
                    parameters=QUICK if quick else None,
                    strict_checks=version == "instructor",
                    env=env,
                )
                result = "ok"
            except CellExecutionError as error:
                failed, result = True, f"[red]failed[/]: {str(error).strip().splitlines()[-1]}"
            table.add_row(item.file, f"{time.monotonic() - started:.1f}", result)
            console.print(f"{item.file}: {result}", highlight=False)
    console.print(table)
    if failed:
        raise typer.Exit(1)
