"""`icslab service ...`: run the lab unattended under systemd."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import DEFAULT_CONFIG, ConfigOption, DataDirOption, group
from icslab.cli.output import console
from icslab.errors import InputError
from icslab.lab import default_data_dir

app = group(
    "Run the lab unattended: a systemd service that starts it at boot and "
    "restarts it after a crash."
)
NameOption = Annotated[
    str | None,
    typer.Option("--name", help="The unit is icslab-NAME.service [default: docker.prefix]"),
]
NO_SYSTEMD = "this machine does not run systemd (no /run/systemd/system)"


@app.command()
def install(
    config: ConfigOption = DEFAULT_CONFIG,
    data_dir: DataDirOption = None,
    roster: Annotated[
        Path | None, typer.Option("--roster", help="Roster CSV; overrides the settings.")
    ] = None,
    spawner: Annotated[
        str | None, typer.Option(help="auto | local | docker [default: from the settings]")
    ] = None,
    name: NameOption = None,
    unit_dir: Annotated[
        Path | None,
        typer.Option("--unit-dir", help="Write the unit here [default: /etc/systemd/system]"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a different unit.")] = False,
) -> None:
    """Write a systemd unit that runs `icslab up` for this lab at boot, restarts it after
    a crash and stops it with SIGTERM. Without systemd it writes only into --unit-dir."""
    from icslab.hub import service_unit
    from icslab.hub.launch import resolve_spawner
    from icslab.lab import load_inputs

    if unit_dir is None and not service_unit.systemd_runs():
        # Nothing here would ever read the unit: say so rather than leave a file behind.
        raise InputError(f"{NO_SYSTEMD}: nothing installed; use --unit-dir to write it anyway")
    if spawner not in (None, "auto", "local", "docker"):
        raise InputError(f"--spawner {spawner!r}: use auto, local or docker")
    # The same checks as `icslab up`: a unit that could only fail is never written.
    settings, _, _ = load_inputs(config, roster)
    unit = service_unit.Unit(
        title=settings.workshop.title,
        config=config.resolve(),
        data_dir=(data_dir or default_data_dir()).resolve(),
        working_dir=Path.cwd(),
        spawner=resolve_spawner(spawner or settings.hub.spawner, settings),
        roster=roster.resolve() if roster else None,
    )
    unit_file = name and f"icslab-{name}.service"
    unit_file = unit_file or service_unit.unit_name(settings.docker.prefix)
    path = (unit_dir or service_unit.UNIT_DIR) / unit_file
    done = service_unit.install(unit, path, force=force)
    console.print(f"{path}: {done} ({unit.spawner} mode)", highlight=False)
    if not service_unit.systemd_runs():
        console.print(f"{NO_SYSTEMD}: copy it to {service_unit.UNIT_DIR}/ where systemd runs.")
    elif path.parent != service_unit.UNIT_DIR:
        console.print(f"systemd reads units from {service_unit.UNIT_DIR}/, not {path.parent}/.")
    console.print(f"Start it now and at every boot: systemctl daemon-reload && "
                  f"systemctl enable --now {unit_file}")  # fmt: skip
    console.print(f"Then: icslab service status; its log: journalctl -u {unit_file} -f")


@app.command()
def status(config: ConfigOption = DEFAULT_CONFIG, name: NameOption = None):
    """systemd's view of the lab's unit: active or failed, since when, restarts."""
    from icslab.hub import service_unit
    from icslab.settings import load_settings

    if not service_unit.systemd_runs():
        console.print(f"{NO_SYSTEMD}: no service to show.")
        return
    unit_file = f"icslab-{name}.service" if name else None
    unit_file = unit_file or service_unit.unit_name(load_settings(config).docker.prefix)
    try:
        properties = service_unit.status(unit_file)
    except (OSError, subprocess.CalledProcessError) as error:
        raise InputError(f"systemctl show {unit_file} failed: {error}") from None
    for line in service_unit.describe(unit_file, properties):
        console.print(line, highlight=False)
    if properties.get("ActiveState") != "active":
        raise typer.Exit(3)  # as `systemctl is-active`: not running
