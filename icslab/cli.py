"""The `icslab` command: everything `make` does, and what instructors run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from icslab.backup_cli import app as backup_app
from icslab.datasets_cli import app as datasets_app
from icslab.docker_cli import app as docker_app
from icslab.errors import InputError
from icslab.homework_cli import app as homework_app
from icslab.images import app as images_app
from icslab.lab import default_data_dir, load_inputs
from icslab.live_cli import app as live_app
from icslab.notebooks_cli import app as notebooks_app
from icslab.service_cli import app as service_app
from icslab.terminal import (
    DataDirOption,
    RefusesBadInput,
    console,
    errors,
    fail,
    lab_paths,
    saved_lab,
)

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, cls=RefusesBadInput)
passwords = typer.Typer(help="Participants' passwords.", no_args_is_help=True)
app.add_typer(passwords, name="passwords")
app.add_typer(datasets_app, name="datasets")
app.add_typer(docker_app, name="docker")
app.add_typer(images_app, name="images")
app.add_typer(notebooks_app, name="notebooks")
app.add_typer(homework_app, name="homework")
app.add_typer(live_app, name="live")
app.add_typer(backup_app)  # no name: `icslab backup` and `icslab restore`
app.add_typer(service_app, name="service")
detect = typer.Typer(help="Attack detectors on public datasets.", no_args_is_help=True)
tls = typer.Typer(help="The lab's HTTPS certificates.", no_args_is_help=True)
app.add_typer(tls, name="tls")
app.add_typer(detect, name="detect")

DEFAULT_CONFIG = Path("hub_config/workshop.toml")
ConfigOption = Annotated[
    Path, typer.Option("--config", help="The workshop settings file.", dir_okay=False)
]
RosterOption = Annotated[
    Path | None,
    typer.Option("--roster", help="Roster CSV (username,team,role); overrides the settings."),
]


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
    from icslab.hub.banner import banner
    from icslab.hub.launch import exec_hub, prepare

    if spawner not in (None, "auto", "local", "docker"):
        fail(InputError(f"--spawner {spawner!r}: use auto, local or docker"))
    started = prepare(
        config, data_dir or default_data_dir(), roster_file=roster, port=port, spawner=spawner
    )
    for line in banner(started):
        console.print(line, highlight=False)
    sys.stdout.flush()
    exec_hub(started.lab)


@app.command()
def check(
    config: ConfigOption = DEFAULT_CONFIG,
    roster: RosterOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Validate the settings, the roster and (serving a room) the certificate and DNS,
    without starting or changing anything."""
    from icslab.hub.front.setup import check_front
    from icslab.hub.front.status import summary
    from icslab.hub.launch import planned_lab

    settings, roster_file, members = load_inputs(config, roster)
    lab = planned_lab(settings, config, data_dir or default_data_dir(), members)
    certificate, problems = check_front(lab)
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


@tls.command("ca")
def tls_ca(
    out: Annotated[Path, typer.Option("--out", help="Where to write the CA certificate (PEM).")],
    config: ConfigOption = DEFAULT_CONFIG,
    data_dir: DataDirOption = None,
) -> None:
    """Write the lab CA's certificate for participants to install (lab-ca mode); print
    its SHA-256 fingerprint to show on the projector. Makes the CA if there is none."""
    import shutil

    from icslab.hub.front.certs import describe, ensure_lab_ca
    from icslab.settings import load_settings

    settings = load_settings(config)
    if settings.tls.mode != "lab-ca":
        raise InputError(
            f"{config}: tls.mode is {settings.tls.mode!r}: participants install a lab CA "
            "only with tls.mode = 'lab-ca'"
        )
    ca = ensure_lab_ca(lab_paths(data_dir).lab_ca, settings.workshop.title)
    shutil.copyfile(ca, out)
    console.print(f"{out}: lab CA, SHA-256 {describe(ca).sha256}", highlight=False)


@passwords.command("reset")
def reset(
    username: Annotated[str, typer.Argument(help="The user whose password to reset.")],
    data_dir: DataDirOption = None,
) -> None:
    """Give a user a new random password, lift their lock and sign them out everywhere.

    The password is printed and written to credentials.csv; the hub ends the user's
    sessions and deletes their API and OAuth tokens (their running servers keep theirs).
    """
    from icslab.hub.accounts import hub_answers, reset_password, signed_out

    paths = lab_paths(data_dir)
    password = reset_password(paths, username)
    console.print(f"{username}: {password}  (also in {paths.credentials})", highlight=False)
    if not hub_answers(paths):
        console.print(f"The lab is not running: it signs {username} out when it starts.")
    elif signed_out(paths, username):
        console.print(f"{username} is signed out everywhere.")
    else:
        errors.print(f"The hub has not signed {username} out yet: see its log.")
        raise typer.Exit(1)


@passwords.command("locks")
def locks(data_dir: DataDirOption = None) -> None:
    """List the accounts locked after too many wrong passwords, and against whom."""
    from icslab.hub.accounts import locked_accounts
    from icslab.hub.passwords import EVERYWHERE

    locked = locked_accounts(lab_paths(data_dir))
    for name, scopes in sorted(locked.items()):
        for scope, seconds in sorted(scopes.items()):
            whom = "everyone" if scope == EVERYWHERE else scope
            console.print(
                f"{name}: locked for {seconds} more seconds against {whom}", highlight=False
            )
    if not locked:
        console.print("No account is locked.")


@passwords.command("unlock")
def unlock(
    usernames: Annotated[
        list[str] | None, typer.Argument(help="Whose locks to lift [default: everyone's].")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Lift accounts' locks at once (the password stays the same)."""
    from icslab.hub.accounts import unlock_accounts

    lifted = unlock_accounts(lab_paths(data_dir), usernames or [])
    for name in lifted:
        console.print(f"{name}: unlocked", highlight=False)
    for name in sorted(set(usernames or []) - set(lifted)):
        console.print(f"{name}: was not locked", highlight=False)
    if not lifted and not usernames:
        console.print("No account was locked.")


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


@app.command()
def publish(
    workshop: Annotated[str, typer.Argument(help="The workshop (a folder of workshops/).")],
    message: Annotated[str | None, typer.Option(help="What changed (the commit message).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Publish a workshop's participant version (no solutions) to the lab's git service."""
    from icslab.material.publish import publish as publish_workshop

    lab = saved_lab(data_dir)
    done = publish_workshop(lab.data_dir, workshop, message)
    if done.commit is None:
        console.print(f"{workshop}: nothing changed since the last publication")
    else:
        console.print(f"{workshop}: published {len(done.files)} files as {done.commit[:10]}")
    console.print(f"link: icslab link {workshop}", highlight=False)


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


@detect.command("batadal")
def detect_batadal(
    train: Annotated[Path, typer.Option(help="Attack-free BATADAL CSV (dataset03).")],
    validate: Annotated[Path, typer.Option(help="Labelled BATADAL CSV (dataset04).")],
    test: Annotated[Path, typer.Option(help="BATADAL CSV to flag (the test dataset).")],
    out: Annotated[Path, typer.Option(help="Where to write DATETIME,ATT_FLAG.")],
) -> None:
    """The capstone's reference detector: flag every hour of the test file."""
    # Imported here: scikit-learn would add ~2 s to every other icslab command.
    from icslab.detect.batadal import batadal_command

    batadal_command(train=train, validate=validate, test=test, out=out)


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
    from icslab.leaderboard import run  # lazily: it loads pandas and the metrics

    paths = lab_paths(data_dir)
    roster = []
    if paths.lab_file.exists():
        from icslab.lab import Lab
        from icslab.roster import teams

        roster = list(teams(Lab.load(paths.lab_file).members))  # listed before they hand in
    run(paths.submissions, roster, answers, out, dataset)


def _run(command: list[str]) -> None:
    raise typer.Exit(subprocess.call(command))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(
    ctx: typer.Context,
    unit: Annotated[bool, typer.Option("--unit", help="Only the fast unit tests.")] = False,
) -> None:
    """Run the test suite (extra arguments go to pytest)."""
    target = ["tests/unit"] if unit else []
    _run([sys.executable, "-m", "pytest", *target, *ctx.args])


@app.command()
def lint() -> None:
    """Ruff on Python and notebooks, through pre-commit."""
    _run([sys.executable, "-m", "pre_commit", "run", "--all-files"])


BENCHMARKS = {
    "batadal": ["bench/batadal.py"],
    "spawn": ["bench/spawn.py"],
    "spawn-docker": ["bench/spawn.py", "--spawner", "docker"],
    "datasets": ["bench/datasets.py"],
    "notebooks": ["bench/notebooks.py"],
}


@app.command()
def bench(
    which: Annotated[
        list[str] | None,
        typer.Argument(
            help="spawn, spawn-docker, datasets, batadal, notebooks [default: all that can run]."
        ),
    ] = None,
) -> None:
    """Print the benchmarks' figures (spawn times; dataset build; BATADAL; notebooks)."""
    from icslab.hub.docker_env import engine_answers

    unknown = [name for name in which or [] if name not in BENCHMARKS]
    if unknown:
        fail(InputError(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(BENCHMARKS)}"))
    if not which:
        which = [n for n in BENCHMARKS if n != "spawn-docker" or engine_answers()]
    status = 0
    for name in which:
        status |= subprocess.call([sys.executable, *BENCHMARKS[name]])
    raise typer.Exit(status)
