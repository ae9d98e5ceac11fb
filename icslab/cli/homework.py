"""`icslab homework ...`: teams submit their notebooks, instructors collect them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import INSTRUCTORS, PARTICIPANTS, DataDirOption, group, saved_lab
from icslab.cli.output import console, errors

app = group("Team homework: submit (participants) and collect (instructors).")


@app.command(rich_help_panel=PARTICIPANTS)
def submit(
    team: Annotated[str | None, typer.Option(help="Your team [default: yours].")] = None,
    message: Annotated[str, typer.Option(help="A note for the instructors.")] = "",
) -> None:
    """Hand in your team's notebooks (the lab keeps them as .ipynb and HTML); run it in
    your JupyterLab."""
    from icslab.homework import submit as submit_homework

    receipt = submit_homework(message, team)
    console.print(
        f"submitted: team {receipt['team']}, version {receipt['number']}, "
        f"{receipt['submitted_at']}: {', '.join(receipt['files'])}",
        markup=False,
        highlight=False,
    )


@app.command(rich_help_panel=INSTRUCTORS)
def collect(
    out: Annotated[
        Path, typer.Option(help="Where the dated folder and zip go.", file_okay=False)
    ] = Path("homework"),
    pdf: Annotated[
        bool, typer.Option(help="Print each notebook to PDF (Debian's chromium, offline).")
    ] = True,
    data_dir: DataDirOption = None,
) -> None:
    """Gather every team's latest hand-in into OUT/homework-<time>/ and a zip, with a PDF
    of each notebook (outputs and plotly figures included) beside it."""
    from rich.progress import Progress

    from icslab.handin.store import Store
    from icslab.homework import Renderer
    from icslab.homework import collect as collect_homework
    from icslab.roster import teams

    lab = saved_lab(data_dir)
    with Progress(console=console, transient=True) as shown:
        task = shown.add_task("notebooks to PDF", total=None)
        folder, archive, problems = collect_homework(
            Store(lab.paths.submissions),
            list(teams(lab.members)),
            out,
            progress=lambda done, total: shown.update(task, completed=done, total=total),
            renderer=Renderer if pdf else None,
        )
    for problem in problems:
        errors.print(f"  - {problem}", markup=False, highlight=False)
    console.print(f"collected into {folder} and {archive}", highlight=False)
