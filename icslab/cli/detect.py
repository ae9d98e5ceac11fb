"""`icslab detect ...`: attack detectors run on public datasets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import group
from icslab.cli.output import errors

app = group("Attack detectors on public datasets.")


@app.command("batadal")
def batadal(
    train: Annotated[Path, typer.Option(help="Attack-free BATADAL CSV (dataset03).")],
    validate: Annotated[Path, typer.Option(help="Labelled BATADAL CSV (dataset04).")],
    test: Annotated[Path, typer.Option(help="BATADAL CSV to flag (the test dataset).")],
    out: Annotated[Path, typer.Option(help="Where to write DATETIME,ATT_FLAG.")],
) -> None:
    """The capstone's reference detector: flag every hour of the test file."""
    # Imported here: scikit-learn would add ~2 s to every other icslab command.
    from icslab.detect.batadal import run

    started = time.perf_counter()
    # Bad input raises InputError before `out` is written: the root command lists it, exit 2.
    detector, flags = run(train, validate, test, out)
    c = detector.calibration
    assert c is not None, "run() predicts, and predict() refuses an uncalibrated detector"
    errors.print(
        f"{out}: {len(flags)} rows, {int(flags.sum())} flagged as attack "
        f"(evidence threshold {c.threshold:.2f} = {c.quantile:.1%} of normal hours, "
        f"held {c.evidence_hold} h; rule alarms held {c.rule_hold} h; "
        f"validation S {c.s:.3f}; {time.perf_counter() - started:.1f} s)",
        highlight=False,
        markup=False,
    )
