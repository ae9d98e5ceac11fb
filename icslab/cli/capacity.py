"""`icslab capacity`: how many machines of what size a week needs, from measured figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import commands
from icslab.cli.output import console
from icslab.cluster.capacity import DEFAULT_MACHINES, HEADROOM, RUN_SECONDS
from icslab.paths import CAPACITY_FIGURES, REPO

app = commands()

MACHINES_HELP = "A machine size, MEMORY/CORES (e.g. 32G/8); repeat for several"


@app.command()
def capacity(
    participants: Annotated[
        list[int],
        typer.Option(
            "--participants", "-p", help="Participants in the week; repeat for a table of several."
        ),
    ],
    teams: Annotated[
        int | None,
        typer.Option(help="Teams, each with a live plant with --plant (one per 10 participants)."),
    ] = None,
    plant: Annotated[bool, typer.Option("--plant", help="A live plant per team.")] = False,
    machine: Annotated[
        list[str] | None, typer.Option(help=f"{MACHINES_HELP} ({', '.join(DEFAULT_MACHINES)}).")
    ] = None,
    headroom: Annotated[
        float, typer.Option(help="Share of each machine's memory and cores kept for the OS.")
    ] = HEADROOM,
    run_seconds: Annotated[
        float,
        typer.Option(
            help="The longest the CPU-heaviest module's cells may take, start to end, "
            "when everyone runs them at once."
        ),
    ] = RUN_SECONDS,
    figures: Annotated[
        Path, typer.Option(help="The measured figures (`icslab bench memory plant`).")
    ] = CAPACITY_FIGURES,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the table alone, in Markdown (README).")
    ] = False,
) -> None:
    """How many machines of each size the week needs: what bounds them (memory at the
    heaviest module, or CPU with everyone running the CPU-heaviest one at once) and
    every assumption, from figures the lab measured (`make bench`)."""
    from rich.markup import escape
    from rich.table import Table

    from icslab.cluster.capacity import load_figures, plans, summary

    planned = plans(load_figures(figures), participants, machine or DEFAULT_MACHINES, teams,
                    plant, headroom, run_seconds)  # fmt: skip
    header, rows = summary(planned)
    if markdown:
        for line in (header, ["---"] * len(header), *rows):
            typer.echo(f"| {' | '.join(line)} |")
        return
    if len(planned) > 1:
        table = Table(title="Machines needed (what fills a worker first)", title_justify="left")
        for name in header:
            table.add_column(name, justify="right")
        for row in rows:
            table.add_row(*row)
    else:
        only = planned[0]
        plants = f", {only.teams} teams' plants" if only.plant else ""
        table = Table(
            title=f"{only.participants} participants{plants}: machines needed",
            title_justify="left",
        )
        for name in ("machine", "machines", "bound by", "manager holds", "a worker holds",
                     "planned: manager", "planned: each worker"):  # fmt: skip
            table.add_column(name, justify="right")
        for size in only.sizes:
            table.add_row(
                size.machine.text, str(size.machines), size.bound, str(size.manager_holds),
                str(size.worker_holds), str(size.manager_participants),
                str(size.worker_participants) if size.machines > 1 else "-",
            )  # fmt: skip
    console.print(table)
    shown = figures.relative_to(REPO) if figures.is_relative_to(REPO) else figures
    console.print(f"Assumptions (figures from {shown}):", highlight=False)
    for said in planned[-1].assumptions:
        console.print(f"  - {escape(said)}", highlight=False)
