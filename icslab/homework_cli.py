"""`icslab homework ...`: teams submit their notebooks, instructors collect them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icslab.errors import InputError
from icslab.terminal import DataDirOption, console, errors, fail, saved_lab

app = typer.Typer(help="Team homework: submit (participants) and collect (instructors).",
                  no_args_is_help=True)  # fmt: skip


@app.command()
def submit(
    team: Annotated[str | None, typer.Option(help="Your team [default: yours].")] = None,
    message: Annotated[str, typer.Option(help="A note for the instructors.")] = "",
) -> None:
    """Submit your team's notebooks (as .ipynb and HTML); run it in your JupyterLab."""
    from icslab.homework import submit as submit_homework

    try:
        folder = submit_homework(message, team)
    except InputError as error:
        fail(error)
    console.print(f"submitted: {folder}", highlight=False)


@app.command()
def collect(
    out: Annotated[
        Path, typer.Option(help="Where the dated folder and zip go.", file_okay=False)
    ] = Path("homework"),
    data_dir: DataDirOption = None,
) -> None:
    """Gather every team's latest submission into OUT/homework-<time>/ and a zip."""
    from icslab.homework import collect as collect_homework

    lab = saved_lab(data_dir)
    try:
        folder, archive, problems = collect_homework(team_folders(lab), out)
    except InputError as error:
        fail(error)
    for problem in problems:
        errors.print(f"  - {problem}", markup=False, highlight=False)
    console.print(f"collected into {folder} and {archive}", highlight=False)


def team_folders(lab) -> dict[str, Path]:
    """Each roster team's shared folder as the lab server sees it."""
    from icslab.roster import teams

    names = list(teams(lab.members))
    if lab.spawner == "local":
        return {team: lab.data_dir / "teams" / team for team in names}
    import docker

    from icslab.hub.teams import team_volume

    client = docker.from_env()
    found = {}
    for team in names:
        try:
            volume = client.volumes.get(team_volume(lab.settings.docker.prefix, team))
        except docker.errors.NotFound:
            found[team] = lab.data_dir / "teams" / team  # absent: reported as "no submission"
            continue
        found[team] = Path(volume.attrs["Mountpoint"])  # the lab server runs as root
    return found
