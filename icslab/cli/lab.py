"""`icslab up`, `check` and `warm`: run a lab, check its inputs, start its servers early."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from icslab.cli.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    DataDirOption,
    RosterOption,
    commands,
    lab_paths,
)
from icslab.cli.output import console, errors
from icslab.errors import InputError
from icslab.lab import LabPaths, default_data_dir, load_inputs

app = commands()


@app.command()
def up(
    spawner: Annotated[
        str | None,
        typer.Option(help="auto | local | docker [default: from the settings]"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="The port of hub.public_url (what participants type)", min=1, max=65535),
    ] = None,
    data_dir: DataDirOption = None,
    roster: RosterOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Run the lab's hub in the foreground (Ctrl-C or SIGTERM stops it; local servers
    stop with it, containers keep running for the next start)."""
    from icslab.cli.material import said
    from icslab.hub.banner import banner
    from icslab.hub.launch import exec_hub, prepare
    from icslab.material.publish import commit, stage_all

    if spawner not in (None, "auto", "local", "docker"):
        raise InputError(f"--spawner {spawner!r}: use auto, local or docker")
    # material.publish: every workshop built and checked before anything changes.
    settings = load_inputs(config, roster)[0]
    staged = stage_all(settings.material.publish)
    data_dir = data_dir or default_data_dir()
    in_swarm = settings.cluster.mode == "swarm"
    if in_swarm:
        from icslab.cluster.setup import guard_nodes, plan_up

        swarm = plan_up(LabPaths(data_dir.resolve()), settings)
    started = prepare(
        config,
        data_dir,
        roster_file=roster,
        port=port,
        spawner=spawner,
        swarm=swarm if in_swarm else None,
    )
    if in_swarm:
        console.print(f"  node firewalls {guard_nodes(started.lab)} (every prepared node)")
    for line in banner(started):
        console.print(line, highlight=False)
    for workshop in staged:
        console.print(said(commit(started.lab.data_dir, workshop)), highlight=False)
    sys.stdout.flush()
    exec_hub(started.lab)


@app.command()
def check(
    config: ConfigOption = DEFAULT_CONFIG,
    roster: RosterOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Validate the settings, the roster, the workshops `up` publishes and (serving a
    room) the certificate and DNS, without starting or changing anything."""
    from icslab.hub.front.setup import check_front
    from icslab.hub.front.status import summary
    from icslab.hub.launch import planned_lab
    from icslab.material.publish import stage_all

    settings, roster_file, members = load_inputs(config, roster)
    lab = planned_lab(settings, config, data_dir or default_data_dir(), members)
    certificate, problems = check_front(lab)
    try:
        stage_all(settings.material.publish)  # what `up` would publish
    except InputError as error:
        problems += [f"material.publish: {problem}" for problem in error.problems]
    teams = {m.team for m in members if m.team}
    console.print(
        f"{config}: ok ({settings.workshop.title!r}); {roster_file}: {len(members)} users "
        f"in {len(teams)} teams"
    )
    if certificate is not None:
        shown = summary(certificate.info) if certificate.info else "none yet"
        console.print(f"{settings.hub.public_url}: certificate from {certificate.source}: {shown}")
    for problem in problems:
        errors.print(f"  - {problem}", highlight=False, markup=False)
    raise typer.Exit(1 if problems else 0)


@app.command()
def warm(
    team: Annotated[str | None, typer.Option(help="Only this team's participants.")] = None,
    concurrency: Annotated[int, typer.Option(help="Servers starting at once.", min=1)] = 4,
    data_dir: DataDirOption = None,
) -> None:
    """Start participants' servers ahead of the session (the lab must be running)."""
    from rich.progress import Progress

    from icslab.hub.warm import participants, running_lab
    from icslab.hub.warm import warm as warm_servers

    paths = lab_paths(data_dir)
    lab, api = running_lab(paths)
    api.close()
    total = len(participants(lab, team))
    with Progress(console=console) as progress:
        task = progress.add_task("starting servers", total=total)
        result = warm_servers(paths, team, concurrency, done=lambda _: progress.advance(task))
    console.print(
        f"{len(result.started)} started, {len(result.already)} already running, "
        f"{len(result.failed)} failed in {result.seconds:.0f} s"
    )
    for name, why in result.failed.items():
        errors.print(f"  - {name}: {why}", markup=False)
    raise typer.Exit(1 if result.failed else 0)
