"""`icslab backup` and `icslab restore`: the lab's state, kept and put back.

Registered in icslab/cli.py with `app.add_typer(backup_app)` (no name: the two
commands join the top level)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import DataDirOption, commands, lab_paths
from icslab.cli.output import console

app = commands()


@app.command()
def backup(
    out: Annotated[
        Path, typer.Option("--out", help="Where the backup folder goes.", file_okay=False)
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Copy the lab's state (database, passwords, secrets, hand-ins, work folders)
    into OUT/icslab-backup-<UTC time>/, consistently, even while the lab runs."""
    from icslab.backup.create import backup as make_backup

    paths = lab_paths(data_dir)
    began = time.monotonic()
    with console.status(f"backing up {paths.data_dir} ..."):
        folder, made = make_backup(paths.data_dir, out)
    console.print(
        f"{folder}: {made['files']} files, {made['bytes'] / 1e6:.1f} MB, "
        f"in {time.monotonic() - began:.2f} s",
        highlight=False,
    )
    console.print(f"restore: icslab restore {folder} --data-dir EMPTY_DIR", highlight=False)


@app.command()
def restore(
    backup: Annotated[
        Path, typer.Argument(help="A folder made by `icslab backup`.", file_okay=False)
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Put a backup back into an empty (or new) data dir, after checking it against its
    manifest; then start the lab from it with `icslab up --data-dir ...`."""
    from icslab.backup.restore import restore as put_back

    paths = lab_paths(data_dir)
    made = put_back(backup, paths.data_dir)
    console.print(
        f"{paths.data_dir}: restored from {backup} ({made['created']}, {made['files']} files)",
        highlight=False,
    )
    console.print(f"start the lab: icslab up --data-dir {paths.data_dir}", highlight=False)
