"""The `icslab` command: everything `make` does, and what instructors run.

One module per command group; each only reads options, calls the domain code and
prints. Bad input (InputError) is turned into a list of problems once, by the root
command (`output.RefusesBadInput`)."""

import typer

from icslab.cli import (
    backup,
    capacity,
    cluster,
    datasets,
    detect,
    develop,
    docker,
    homework,
    images,
    lab,
    languages,
    leaderboard,
    live,
    material,
    notebooks,
    passwords,
    plant,
    room,
    service,
    tls,
)
from icslab.cli.output import RefusesBadInput

app = typer.Typer(help=__doc__.split("\n")[0], no_args_is_help=True, add_completion=False,
                  cls=RefusesBadInput)  # fmt: skip
# Top-level commands, in the order `icslab --help` lists them.
for commands in (lab, material, leaderboard, backup, capacity):
    app.add_typer(commands.app)
app.add_typer(room.top)
for name, group in {
    "passwords": passwords, "datasets": datasets, "docker": docker, "images": images,
    "languages": languages,
    "notebooks": notebooks, "homework": homework, "room": room, "live": live, "service": service,
    "tls": tls, "detect": detect, "plant": plant, "cluster": cluster,
}.items():  # fmt: skip
    app.add_typer(group.app, name=name)
app.add_typer(material.own, name="material")
app.add_typer(develop.app)


def main() -> None:
    app()
