"""`icslab datasets ...`: list, build, verify the simulated datasets; fetch public ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from icslab.cli.options import group
from icslab.cli.output import console
from icslab.errors import InputError
from icslab.paths import DATASETS_BUILD, DATASETS_CACHE

app = group("Telemetry datasets: simulated plant data and public datasets.")

Names = Annotated[list[str] | None, typer.Argument(help="Dataset names [default: all].")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Output folder [default: datasets/build/].")
]


def _catalog():
    from icslab.sim.catalog import load_catalog

    return load_catalog()


@app.command("list")
def list_datasets(out: OutOption = None) -> None:
    """The catalog's datasets and whether they are built here."""
    from icslab.sim.build import answers_folder

    out = out or DATASETS_BUILD
    table = Table("name", "period", "attacks", "built", "description")
    for name, spec in _catalog().datasets.items():
        kinds = len({a.kind for a in spec.attacks})
        attacks = f"{len(spec.attacks)} ({kinds} kinds)"
        if spec.draw:  # the lab draws them from its secret
            attacks = f"{spec.draw.attacks} drawn per lab ({len(spec.draw.kinds)} kinds)"
        built = "yes" if (out / name / "scada.parquet").exists() else "no"
        if spec.hidden_labels:  # labels in OUT/.answers/NAME/, never in the dataset's folder
            attacks += ", labels hidden"
            answers = (answers_folder(out, name) / "labels.csv").exists()
            built += f" (answers: {'yes' if answers else 'no'})"
        table.add_row(
            name, f"{spec.start:%Y-%m-%d %H:%M}Z, {spec.hours:g} h",
            attacks, built, spec.description,
        )  # fmt: skip
    console.print(table)


@app.command()
def build(
    names: Names = None,
    out: OutOption = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write CSV copies.")] = False,
    record: Annotated[
        bool, typer.Option("--record", help="Write the new checksums into the catalog.")
    ] = False,
    missing: Annotated[
        bool, typer.Option("--missing", help="Skip datasets already built and verified.")
    ] = False,
) -> None:
    """Build datasets (atomically: a failed build leaves the old files in place)."""
    from icslab.formats import FILES
    from icslab.sim.build import STEPS, build_dataset, verify_dataset
    from icslab.sim.catalog import CATALOG, record_checksums, select

    out = out or DATASETS_BUILD
    chosen = select(_catalog(), names)
    if missing:
        chosen = {n: s for n, s in chosen.items() if verify_dataset(n, s, out)}
        if not chosen:
            console.print(f"datasets in {out} are built and match the catalog")
            return
    checksums = {}
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        for name, spec in chosen.items():
            task = progress.add_task(name, total=len(STEPS))

            def step(label: str, task=task, name=name) -> None:
                done = STEPS.index(label)
                progress.update(task, completed=done, description=f"{name}: {label}")

            checksums[name] = build_dataset(name, spec, out, csv=csv, progress=step)
            progress.update(task, completed=len(STEPS), description=f"{name}: done")
    for name in chosen:
        console.print(f"{out / name}")
    if record:
        # The CSV copies are a convenience: the catalog vouches for the standard files.
        # Hidden sets differ in every lab: their build recorded them with the answers.
        standard = {name: {f: d for f, d in files.items() if f in FILES}
                    for name, files in checksums.items()
                    if not chosen[name].hidden_labels}  # fmt: skip
        record_checksums(CATALOG, standard)
        console.print(f"checksums recorded in {CATALOG}")


@app.command()
def verify(names: Names = None, out: OutOption = None) -> None:
    """Check built datasets against the catalog's sha256 checksums (a hidden set: against
    those its build recorded in OUT/.answers/NAME/, labels included)."""
    from icslab.sim.build import verify_dataset
    from icslab.sim.catalog import select

    out = out or DATASETS_BUILD
    chosen = select(_catalog(), names)
    problems = [p for name, spec in chosen.items() for p in verify_dataset(name, spec, out)]
    if problems:
        raise InputError(*problems)
    console.print(f"{len(chosen)} datasets match their checksums: {', '.join(chosen)}")


@app.command()
def fetch(
    name: Annotated[str, typer.Argument(help="The public dataset: batadal.")],
    cache: Annotated[
        Path | None, typer.Option(help="Cache folder [default: datasets/cache/NAME].")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Base URL or a local folder holding the files.")
    ] = None,
) -> None:
    """Download a public dataset into the local cache, verifying every file's sha256."""
    from icslab.data.fetch import fetch_batadal

    if name != "batadal":
        raise InputError(f"unknown public dataset {name!r}: icslab can fetch batadal")
    paths = fetch_batadal(cache or DATASETS_CACHE / name, source)
    for path in paths:
        console.print(str(path))
