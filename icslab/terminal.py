"""What every `icslab` command prints with (one style for output and for refusals),
and how a command finds the lab it acts on (`--data-dir`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup

from icslab.errors import InputError
from icslab.lab import DATA_DIR_ENV, LabPaths, default_data_dir

if TYPE_CHECKING:
    from icslab.lab import Lab

# soft_wrap: long paths and messages stay on one line, easy to copy and grep.
# emoji=False: text is printed as it is (a fingerprint's ":CD:" is not a 💿).
console = Console(soft_wrap=True, emoji=False)
errors = Console(stderr=True, soft_wrap=True, emoji=False)


def fail(error: InputError) -> None:
    """List every problem on stderr and exit 2 (bad input: nothing was changed)."""
    errors.print("[bold red]Cannot continue:[/] fix the following and run the command again.")
    for problem in error.problems:
        errors.print(f"  - {problem}", highlight=False, markup=False)
    raise typer.Exit(2)


class RefusesBadInput(TyperGroup):
    """The root command: a command that raises InputError (bad input, nothing changed)
    gets the problems listed and exit code 2, wherever it raised: one handler for all."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as error:
            fail(error)


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help=f"Where the lab keeps its state [default: ${DATA_DIR_ENV} or ./.icslab]",
        file_okay=False,
    ),
]


def lab_paths(data_dir: Path | None) -> LabPaths:
    return LabPaths((data_dir or default_data_dir()).resolve())


def saved_lab(data_dir: Path | None) -> Lab:
    """The lab `icslab up` started in this data dir; refuse if there is none."""
    from icslab.lab import Lab

    paths = lab_paths(data_dir)
    if not paths.lab_file.exists():
        fail(InputError(f"{paths.data_dir}: no lab here; start one with `icslab up` first"))
    return Lab.load(paths.lab_file)
