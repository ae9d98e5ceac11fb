"""`icslab room ...` and `icslab announce`: the instructors' view of the room."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import DataDirOption, commands, group, saved_lab
from icslab.cli.output import console
from icslab.errors import InputError

app = group(
    "The room: every self-check participants ran (the room view is /services/icslab-room/)."
)
top = commands()


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="The CSV to write.", dir_okay=False)] = Path(
        "progress.csv"
    ),
    data_dir: DataDirOption = None,
) -> None:
    """Write every recorded self-check (time, user, team, exercise, verdict, hint shown)."""
    from icslab.files import write_atomic
    from icslab.room.store import export_csv

    lab = saved_lab(data_dir)
    if not lab.paths.room.exists():
        raise InputError(f"no self-check recorded yet in {lab.paths.data_dir}")
    data = export_csv(lab.paths.room)
    write_atomic(out, data, mode=0o600)
    rows = data.count(b"\n") - 1
    console.print(f"{out}: {rows} self-checks", highlight=False)


@top.command()
def announce(
    message: Annotated[str, typer.Argument(help="What to tell the room.")] = "",
    team: Annotated[str | None, typer.Option(help="Only this team [default: everyone].")] = None,
    until: Annotated[
        str | None, typer.Option(help="Shown until this time today (13:30) [default: --clear].")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Take announcements down.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show a message in every participant's JupyterLab (or one team's) and on the hub's
    pages, within seconds."""
    from icslab.hub import announcements
    from icslab.roster import teams

    lab = saved_lab(data_dir)
    known = sorted(teams(lab.members))
    if team is not None and team not in known:
        raise InputError(f"--team {team}: no such team (teams: {', '.join(known) or 'none'})")
    if clear:
        if message:
            raise InputError("--clear takes no message: give one or the other")
        removed = announcements.clear(lab.paths.announcements, team)
        console.print(f"cleared {removed} announcement(s)", highlight=False)
        return
    ends = _until(until) if until else None
    announcements.add(lab.paths.announcements, message, team, ends)
    who = f"team {team}" if team else "everyone"
    console.print(
        f"announced to {who}" + (f" until {until}" if until else " until `--clear`"),
        highlight=False,
    )


def _until(text: str) -> datetime:
    """HH:MM today (this server's time zone), or a full ISO time."""
    try:
        if len(text) <= 5:
            clock = datetime.strptime(text, "%H:%M").time()
            return datetime.combine(datetime.now().date(), clock).astimezone()
        return datetime.fromisoformat(text).astimezone()
    except ValueError:
        raise InputError(
            f"--until {text}: give a time as HH:MM (13:30) or 2026-12-07T13:30"
        ) from None
