"""`icslab images ...`: build the participant image without a container registry."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from icslab.cli.options import DEFAULT_CONFIG, ConfigOption, group
from icslab.cli.output import console, errors
from icslab.images import (
    DEBIAN_MIRROR,
    PACKAGES_FILE,
    WHEELHOUSE_STAMP,
    ImageBuildError,
    base_image_tag,
    build_participant_image,
    current_inputs,
    image_info,
    image_label,
    inputs_hash,
    needs_build,
    read_package_list,
    require_engine,
)
from icslab.languages import IMAGE_LABEL
from icslab.settings import load_settings

app = group("The participant image: built offline, without a registry.")

BaseOption = Annotated[
    str | None,
    typer.Option(
        "--base-image", envvar="ICSLAB_BASE_IMAGE",
        help="Start from this bookworm image (e.g. python:3.11-slim-bookworm, "
        "from a registry) instead of a debootstrapped base.",
    ),
]  # fmt: skip


TagOption = Annotated[
    str | None,
    typer.Option(
        "--tag", help="Build (or check) this image instead of the settings' docker.image "
        "(e.g. icslab-participant:try, for a lab whose docker.image names it)."
    ),
]  # fmt: skip


def image_for(config, tag: str | None) -> tuple[str, list[str]]:
    """The image to build or check, and the languages it holds: the lab's settings'."""
    settings = load_settings(config)
    return tag or settings.docker.image, settings.workshop.languages


def missing_datasets() -> None:
    """Build the datasets that are missing or do not match the catalog's checksums."""
    from icslab.cli.datasets import build as build_datasets

    build_datasets(names=None, out=None, csv=False, record=False, missing=True)


@app.command()
def build(
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when up to date (layers stay cached).")
    ] = False,
    base_image: BaseOption = None,
    mirror: Annotated[str, typer.Option(help="Debian mirror for debootstrap.")] = DEBIAN_MIRROR,
    if_engine: Annotated[
        bool,
        typer.Option("--if-engine", help="Do nothing when no Docker engine answers (make up)."),
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    tag: TagOption = None,
) -> None:
    """Build the participant image for the lab's settings (its docker.image, with the
    JupyterLab languages they list): base, wheelhouse, image, skipping what is up to date."""
    from icslab.hub.docker_env import engine_answers

    image, languages = image_for(config, tag)
    if if_engine and not engine_answers():
        console.print("no Docker engine answers: no image needed (local mode)")
        return
    started = time.monotonic()
    try:
        build_participant_image(
            force=force,
            base_image=base_image,
            mirror=mirror,
            image=image,
            languages=languages,
            out=console,
            datasets=missing_datasets,
        )
    except ImageBuildError as error:
        errors.print(f"[bold red]Image build failed:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"done in {time.monotonic() - started:.0f} s")


@app.command()
def status(
    base_image: BaseOption = None, config: ConfigOption = DEFAULT_CONFIG, tag: TagOption = None
) -> None:
    """Whether the participant image exists, is up to date, and its size (exit 1: build it)."""
    image, languages = image_for(config, tag)
    try:
        require_engine()
    except ImageBuildError as error:
        errors.print(f"[bold red]Cannot check the image:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    info = image_info(image)
    inputs = current_inputs(base_image, languages)
    current = inputs_hash(inputs)
    label = image_label(image) if info else None
    base = base_image or base_image_tag(read_package_list(PACKAGES_FILE.read_text()))
    stamp = WHEELHOUSE_STAMP.read_text().strip() if WHEELHOUSE_STAMP.exists() else None
    table = Table(box=None, show_header=False)
    table.add_row("image", image)
    table.add_row("exists", "yes" if info else "no")
    if info:
        table.add_row("state", "stale" if needs_build(label, current) else "up to date")
        table.add_row("size", f"{info['Size'] / 1e6:.0f} MB")
        table.add_row("created", info["Created"][:19].replace("T", " "))
        held = image_label(image, IMAGE_LABEL)
        table.add_row("languages", f"English, {held.replace(',', ', ')}" if held else "English")
    table.add_row("inputs", f"{current[:12]} (image: {(label or '-')[:12]})")
    table.add_row("base", f"{base} ({'exists' if image_info(base) else 'missing'})")
    table.add_row(
        "wheelhouse", "up to date" if stamp == inputs["wheelhouse"] else "needs a download"
    )
    console.print(table)
    raise typer.Exit(0 if info and not needs_build(label, current) else 1)
