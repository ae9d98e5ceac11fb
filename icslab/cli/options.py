"""What the commands share: how a group is made, the options several take, and how a
command finds the lab it acts on (`--data-dir`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from icslab.errors import InputError
from icslab.lab import DATA_DIR_ENV, LabPaths, default_data_dir
from icslab.paths import SETTINGS_FILE

if TYPE_CHECKING:
    from icslab.lab import Lab


def group(help: str) -> typer.Typer:
    """A command group, `icslab NAME ...`: run alone, it prints its help."""
    return typer.Typer(help=help, no_args_is_help=True)


# Groups that serve both audiences list participants' commands apart in their help.
PARTICIPANTS = "Participants (in JupyterLab's terminal)"
INSTRUCTORS = "Instructors (on the lab server)"


def commands() -> typer.Typer:
    """Commands that stand at the top level (`icslab NAME`), kept in a module of their own."""
    return typer.Typer(add_completion=False)


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help=f"Where the lab keeps its state [default: ${DATA_DIR_ENV} or ./.icslab]",
        file_okay=False,
    ),
]
ConfigOption = Annotated[
    Path, typer.Option("--config", help="The lab's settings file.", dir_okay=False)
]
DEFAULT_CONFIG = SETTINGS_FILE
RosterOption = Annotated[
    Path | None,
    typer.Option("--roster", help="Roster CSV (username,team,role); overrides the settings."),
]


def lab_paths(data_dir: Path | None) -> LabPaths:
    return LabPaths((data_dir or default_data_dir()).resolve())


def saved_lab(data_dir: Path | None) -> Lab:
    """The lab `icslab up` started in this data dir; refuse if there is none."""
    from icslab.lab import Lab

    paths = lab_paths(data_dir)
    if not paths.lab_file.exists():
        raise InputError(f"{paths.data_dir}: no lab here; start one with `icslab up` first")
    return Lab.load(paths.lab_file)
