"""Build datasets from the catalog into OUT/NAME/, atomically, and verify them.

Every file of a dataset is written into a temporary folder beside its final
place and renamed into place only when all of them are complete, so readers
never see a half-built dataset and a failed build leaves the old one intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from icslab.data.fetch import sha256_of
from icslab.sim.catalog import DatasetSpec
from icslab.sim.datacard import datacard
from icslab.sim.historian import HistorianExport, export_historian
from icslab.sim.modbus import export_modbus
from icslab.sim.model import Simulation
from icslab.sim.simulate import simulate

FILES = (
    "scada.parquet",
    "historian.parquet",
    "modbus.parquet",
    "labels.csv",
    "tags.csv",
    "datacard.md",
)
CSV_FILES = ("scada.csv", "historian.csv", "modbus.csv")
STEPS = ("simulate plant", "historian export", "modbus export", "write files")

Progress = Callable[[str], None]  # told the name of each step as it starts


def build_dataset(
    name: str, spec: DatasetSpec, out: Path, *, csv: bool = False, progress: Progress | None = None
) -> dict[str, str]:
    """Build one dataset into out/name; return the sha256 of each file."""
    step = progress or (lambda _: None)
    sim, historian, modbus = exports(name, spec, step)
    step(STEPS[3])
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    try:
        _write_parquet(sim.scada, staging / "scada.parquet")
        _write_parquet(historian.table, staging / "historian.parquet")
        _write_parquet(modbus, staging / "modbus.parquet", pandas_metadata=False)
        labels(sim).to_csv(staging / "labels.csv", index=False, lineterminator="\n")
        tags_table(sim).to_csv(staging / "tags.csv", index=False, lineterminator="\n")
        (staging / "datacard.md").write_text(datacard(sim, spec, historian), encoding="utf-8")
        if csv:
            sim.scada.to_csv(staging / "scada.csv", index=False, lineterminator="\n")
            historian.table.to_csv(staging / "historian.csv", index=False, lineterminator="\n")
            modbus.to_csv(staging / "modbus.csv", index=False, lineterminator="\n")
        checksums = {path.name: sha256_of(path) for path in sorted(staging.iterdir())}
        for path in staging.iterdir():
            path.chmod(0o644)
        staging.chmod(0o755)
        _replace(staging, out / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return checksums


def exports(
    name: str, spec: DatasetSpec, step: Progress | None = None
) -> tuple[Simulation, HistorianExport, pd.DataFrame]:
    """The simulation and its two exports, each from its own random stream."""
    step = step or (lambda _: None)
    step(STEPS[0])
    sim = simulate(name, spec)
    step(STEPS[1])
    historian = export_historian(sim, np.random.default_rng([spec.seed, 2]))
    step(STEPS[2])
    modbus = export_modbus(sim, np.random.default_rng([spec.seed, 3]))
    return sim, historian, modbus


def _write_parquet(frame: pd.DataFrame, path: Path, *, pandas_metadata: bool = True) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if not pandas_metadata:
        # pandas cannot rebuild a list<int32> ArrowDtype from its own metadata
        # (pandas#57411): without it, plain pd.read_parquet works in a notebook.
        table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", compression_level=3)


def _replace(staging: Path, final: Path) -> None:
    """Swap the new folder in; the old one is removed only once the new one is in place."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old)


def labels(sim: Simulation) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (a.attack_id, _iso(a.start), _iso(a.end), a.kind, ";".join(a.targets), a.description)
            for a in sim.attacks
        ],
        columns=["attack_id", "start", "end", "kind", "targets", "description"],
    )


def tags_table(sim: Simulation) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                t.name,
                t.unit,
                t.kind,
                t.stage,
                t.description,
                t.low,
                t.high,
                t.plc,
                t.register,
                t.scale,
                t.deadband,
            )
            for t in sim.tags
        ],
        columns=[
            "tag",
            "unit",
            "kind",
            "stage",
            "description",
            "low",
            "high",
            "plc",
            "register",
            "scale",
            "deadband",
        ],
    )


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def verify_dataset(name: str, spec: DatasetSpec, out: Path) -> list[str]:
    """Problems with out/name against the catalog's checksums (empty = all good)."""
    folder = out / name
    if not spec.sha256:
        return [f"{name}: the catalog records no checksums (run `icslab datasets build --record`)"]
    if not folder.is_dir():
        return [f"{folder}: not built (run `icslab datasets build {name}`)"]
    problems = []
    for file, expected in spec.sha256.items():
        path = folder / file
        if not path.exists():
            problems.append(f"{path}: missing")
        elif (actual := sha256_of(path)) != expected:
            problems.append(f"{path}: sha256 {actual}, the catalog says {expected}")
    return problems
