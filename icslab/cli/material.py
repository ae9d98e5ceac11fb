"""`icslab publish` and `link`: workshop material for participants, through nbgitpuller;
`icslab material fresh`: a participant gets the published version back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from icslab.cli.options import PARTICIPANTS, DataDirOption, commands, group, saved_lab
from icslab.cli.output import console, errors

if TYPE_CHECKING:
    from icslab.material.publish import Publication

app = commands()
own = group("Workshop material in your own JupyterLab.")


@app.command()
def publish(
    workshop: Annotated[str, typer.Argument(help="The workshop (a folder of workshops/).")],
    message: Annotated[str | None, typer.Option(help="What changed (the commit message).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Publish a workshop's participant version (no solutions) to the lab's git service."""
    from icslab.material.publish import publish as publish_workshop

    lab = saved_lab(data_dir)
    console.print(said(publish_workshop(lab.data_dir, workshop, message)), highlight=False)
    console.print(f"link: icslab link {workshop}", highlight=False)


def said(done: Publication) -> str:
    if done.commit is None:
        return f"{done.workshop}: nothing changed since the last publication"
    return f"{done.workshop}: published {len(done.files)} files as {done.commit[:10]}"


@app.command()
def link(
    workshop: Annotated[str, typer.Argument(help="A published workshop.")],
    path: Annotated[
        str | None, typer.Option(help="Open this file after the pull (e.g. 01-historian.ipynb).")
    ] = None,
    qr: Annotated[Path | None, typer.Option(help="Also write the link as a QR code PNG.")] = None,
    hub_url: Annotated[
        str | None,
        typer.Option(help="The address participants use [default: the lab's own URL]."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the nbgitpuller link participants click to get (or update) a workshop."""
    from icslab.material.links import pull_link, write_qr

    lab = saved_lab(data_dir)
    url = pull_link(hub_url or lab.url, lab.git_url, lab.data_dir, workshop, path)
    if qr:
        write_qr(url, qr)
    print(url)
    if qr:
        errors.print(f"QR code: {qr}", highlight=False)


@own.command(rich_help_panel=PARTICIPANTS)
def fresh(
    path: Annotated[
        str, typer.Argument(help="A file or folder of a pulled workshop, or the workshop itself.")
    ],
) -> None:
    """Get the published version of a file back; yours is kept beside it with a timestamp
    (run it in your JupyterLab's terminal)."""
    from icslab.material.fresh_copy import fresh as fresh_copy

    console.print(repr(fresh_copy(path)), highlight=False)
