"""`icslab docker ...`: the lab's own Docker resources, found by their prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import DEFAULT_CONFIG, ConfigOption, group
from icslab.cli.output import console

app = group("Docker mode: participants' volumes and the lab's resources.")


def _prefix(config: Path) -> str:
    from icslab.settings import load_settings

    return load_settings(config).docker.prefix


@app.command("reset-volume")
def reset_volume(
    username: Annotated[str, typer.Argument(help="The participant whose work to delete.")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Delete one participant's work volume (their server must be stopped)."""
    from icslab.hub.docker_env import reset_volume as reset

    console.print(f"removed volume {reset(_prefix(config), username)}")


@app.command()
def clean(
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also delete every participant's work volume.")
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Remove the lab's containers and network (and volumes): only names with its prefix."""
    from icslab.hub.docker_env import remove_lab_resources

    removed = remove_lab_resources(_prefix(config), volumes=volumes)
    console.print(
        f"removed {len(removed.containers)} containers, {len(removed.networks)} networks, "
        f"{len(removed.volumes)} volumes, {len(removed.firewall)} firewall tables"
    )
