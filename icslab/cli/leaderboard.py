"""`icslab leaderboard`: score the teams' capstone hand-ins and rank them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import DataDirOption, commands, lab_paths
from icslab.cli.output import console, errors

app = commands()


@app.command()
def leaderboard(
    answers: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Hidden labels: DIR/<dataset>/labels.csv (default: .answers in the "
            "datasets folder).",
            file_okay=False,
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="The HTML leaderboard; a CSV is written beside it.", dir_okay=False)
    ] = Path("leaderboard.html"),
    dataset: Annotated[str, typer.Option(help="The plant dataset to rank by.")] = "capstone",
    data_dir: DataDirOption = None,
) -> None:
    """Score every team's latest capstone hand-in and rank the teams by S."""
    # Lazily: the leaderboard loads pandas and the metrics.
    from rich.markup import escape
    from rich.table import Table

    from icslab.capstone.leaderboard import (
        COLUMNS,
        board_rows,
        build_board,
        csv_beside,
        write_board,
    )
    from icslab.handin.store import Store

    csv_beside(out)  # before scoring: a bad --out is refused at once
    paths = lab_paths(data_dir)
    roster = []
    if paths.lab_file.exists():
        from icslab.lab import Lab
        from icslab.roster import teams

        roster = list(teams(Lab.load(paths.lab_file).members))  # listed before they hand in
    board = build_board(Store(paths.submissions), roster, dataset=dataset, answers=answers)
    rows = board_rows(board)
    table = Table(title=f"Capstone leaderboard: ranked by S on {dataset}", title_justify="left")
    for key, name in COLUMNS.items():
        if key == "team":  # a narrow terminal squeezes the figures, not the names
            table.add_column(name, justify="left", min_width=8)
        else:
            table.add_column(name, justify="right")
    for row in rows:
        # Team names come from what participants wrote: never rich markup.
        table.add_row(*(escape(str(row[key])) for key in COLUMNS))
    console.print(table)
    console.print(
        "BATADAL 04: dataset04's labelled hours; BATADAL test: hours flagged, not scored "
        "(the test file has no labels)",
        highlight=False,
    )
    if not rows:
        console.print(f"no team has handed in yet ({paths.submissions} is empty)", highlight=False)
    if board.problems:
        errors.print(f"[bold yellow]Not scored ({len(board.problems)}):[/]")
    for problem in board.problems:
        errors.print(f"  - {problem}", markup=False, highlight=False)
    csv_path = write_board(board, out)
    console.print(f"{out}\n{csv_path}", highlight=False)
