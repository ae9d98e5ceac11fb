"""`icslab live ...`: broadcast a notebook while live-coding; follow or copy it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import INSTRUCTORS, PARTICIPANTS, DataDirOption, group, saved_lab
from icslab.cli.output import console
from icslab.errors import InputError
from icslab.lab import LIVE_SERVICE

app = group("Live-coding broadcast: participants follow an instructor's notebook.")


@app.command(rich_help_panel=INSTRUCTORS)
def start(
    path: Annotated[str, typer.Argument(help="The notebook, relative to your work folder.")],
    instructor: Annotated[str, typer.Option("--as", help="The instructor whose notebook it is.")],
    name: Annotated[str | None, typer.Option(help="The follow page's name.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Make an instructor's notebook live: participants follow every save."""
    from icslab.live import registry
    from icslab.live.workspaces import notebook_in, work_folder

    lab = saved_lab(data_dir)
    if instructor not in lab.usernames("instructor"):
        raise InputError(
            f"--as {instructor!r}: not an instructor of this lab "
            f"(instructors: {', '.join(lab.usernames('instructor')) or 'none'})"
        )
    prefix = lab.settings.docker.prefix if lab.spawner == "docker" else None
    notebook = notebook_in(work_folder(lab.data_dir, instructor, prefix), path)
    if not notebook.is_file():
        raise InputError(f"{path}: not in {instructor}'s work folder; save it there first")
    broadcast = registry.start(lab.data_dir, instructor, path, name)
    console.print(f"live: {lab.service_url(LIVE_SERVICE)}{broadcast.name}", highlight=False)
    console.print(f"participants copy it with: icslab live copy {broadcast.name}", highlight=False)


@app.command(rich_help_panel=INSTRUCTORS)
def stop(
    name: Annotated[str, typer.Argument(help="The broadcast.")], data_dir: DataDirOption = None
) -> None:
    """End a broadcast: its follow page stops updating and says so."""
    from icslab.live import registry

    registry.stop(saved_lab(data_dir).data_dir, name)
    console.print(f"{name}: ended")


@app.command("list", rich_help_panel=INSTRUCTORS)
def list_live(data_dir: DataDirOption = None) -> None:
    """The broadcasts live now."""
    from icslab.live import registry

    lab = saved_lab(data_dir)
    for broadcast in registry.live(lab.data_dir):
        console.print(
            f"{broadcast.name}: {broadcast.instructor}'s {broadcast.path} since "
            f"{broadcast.started}  {lab.service_url(LIVE_SERVICE)}{broadcast.name}",
            highlight=False,
        )


@app.command(rich_help_panel=PARTICIPANTS)
def copy(
    name: Annotated[str, typer.Argument(help="The broadcast to copy.")],
    to: Annotated[Path, typer.Option(help="Folder for the copy.")] = Path("live"),
) -> None:
    """Copy the current version of a live notebook into your workspace (run it in your
    JupyterLab's terminal)."""
    from icslab.live.copy import copy_live

    console.print(f"copied to {copy_live(name, to)}", highlight=False)
