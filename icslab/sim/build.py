"""Build datasets from the catalog into OUT/NAME/, atomically, and verify them.

Every file of a dataset is written into a temporary folder beside its final
place and renamed into place only when all of them are complete, so readers
never see a half-built dataset and a failed build leaves the old one intact.

A dataset with `hidden_labels` (the capstone's unseen attack set) keeps its
labels.csv out of its folder: it goes to OUT/.answers/NAME/ (only its owner may
read it; the participant image leaves out every OUT/.* folder), the datacard
lists no attacks, and scada.parquet says so in its schema metadata
(`icslab.labels: hidden`), which is how `load_plant` tells "hidden" from "missing".
Its seed and attacks are drawn from the lab's secret, OUT/.answers/.secret (made on
the first build, then reused: a rebuild gives the same files), and its checksums,
which no catalog can hold, are recorded beside its labels for `verify_dataset`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from icslab.files import file_sha256, write_atomic
from icslab.formats import (
    ATTACK_COLUMNS,
    CSV_FILES,
    DATACARD_FILE,
    FILES,
    HIDDEN_KEY,
    HIDDEN_VALUE,
    HISTORIAN_FILE,
    LABELS_FILE,
    LABELS_TIME_FORMAT,
    MODBUS_ARROW,
    MODBUS_FILE,
    SCADA_ARROW,
    SCADA_FILE,
    TAG_COLUMNS,
    TAGS_FILE,
    TARGETS_SEPARATOR,
    write_mappable,
)
from icslab.sim.catalog import DatasetSpec
from icslab.sim.datacard import datacard
from icslab.sim.draw import simulate_drawn
from icslab.sim.historian_export import HistorianExport, export_historian
from icslab.sim.modbus import export_modbus
from icslab.sim.records import Simulation
from icslab.sim.simulate import simulate

STEPS = ("simulate plant", "historian export", "modbus export", "write files")
ANSWERS = ".answers"  # OUT/.answers/NAME/labels.csv: the hidden labels, for instructors
SECRET = ".secret"  # OUT/.answers/.secret: the lab's secret, hidden sets are drawn from it
RECORD = "checksums.json"  # OUT/.answers/NAME/: what the build of a hidden set wrote
HIDDEN = {HIDDEN_KEY: HIDDEN_VALUE}  # scada.parquet's schema metadata when labels are hidden

Progress = Callable[[str], None]  # told the name of each step as it starts


def build_dataset(
    name: str, spec: DatasetSpec, out: Path, *, csv: bool = False, progress: Progress | None = None
) -> dict[str, str]:
    """Build one dataset into out/name; return the sha256 of each file."""
    step = progress or (lambda _: None)
    out.mkdir(parents=True, exist_ok=True)
    secret = lab_secret(out, create=True) if spec.draw else None
    sim, historian, modbus = exports(name, spec, step, secret=secret)
    step(STEPS[3])
    hidden = spec.hidden_labels
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    answers = None  # the hidden labels' staging folder, in OUT/.answers/
    try:
        scada = _write_parquet(sim.scada, staging / SCADA_FILE, metadata=HIDDEN if hidden else None)
        write_mappable(scada, staging / SCADA_ARROW)
        _write_parquet(historian.table, staging / HISTORIAN_FILE)
        traffic = _write_parquet(modbus, staging / MODBUS_FILE, pandas_metadata=False)
        write_mappable(traffic, staging / MODBUS_ARROW)
        if hidden:
            answers = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=_answers_root(out)))
        labels_file = (answers or staging) / LABELS_FILE
        labels(sim).to_csv(labels_file, index=False, lineterminator="\n")
        tags_table(sim).to_csv(staging / TAGS_FILE, index=False, lineterminator="\n")
        (staging / DATACARD_FILE).write_text(datacard(sim, spec, historian, modbus), "utf-8")
        if csv:
            for frame, file in zip((sim.scada, historian.table, modbus), CSV_FILES, strict=True):
                frame.to_csv(staging / file, index=False, lineterminator="\n")
        checksums = {path.name: file_sha256(path) for path in sorted(staging.iterdir())}
        checksums[LABELS_FILE] = file_sha256(labels_file)
        for path in staging.iterdir():
            path.chmod(0o644)
        staging.chmod(0o755)
        if answers is not None:
            labels_file.chmod(0o600)  # answers is 0700 already (mkdtemp)
            record = {"spec": fingerprint(spec, secret), "sha256": checksums}
            write_atomic(answers / RECORD, json.dumps(record, indent=1).encode(), 0o600)
            _replace(answers, answers_folder(out, name))
        _replace(staging, out / name)
        if not hidden:  # labels no longer hidden: no stale answers left behind
            shutil.rmtree(answers_folder(out, name), ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if answers is not None:
            shutil.rmtree(answers, ignore_errors=True)
        raise
    return checksums


def answers_folder(out: Path, name: str) -> Path:
    """Where the hidden labels of dataset `name` built into `out` are kept."""
    return out / ANSWERS / name


def built_file(out: Path, name: str, spec: DatasetSpec, file: str) -> Path:
    """Where `file` of the dataset lives: labels.csv of a dataset with hidden labels is
    in answers_folder(), every other file in out/name."""
    if file == LABELS_FILE and spec.hidden_labels:
        return answers_folder(out, name) / file
    return out / name / file


def lab_secret(out: Path, *, create: bool = False) -> str | None:
    """The secret hidden sets built into `out` are drawn from (made when `create`)."""
    path = out / ANSWERS / SECRET
    if not path.exists():
        if not create:
            return None
        write_atomic(_answers_root(out) / SECRET, f"{secrets.token_hex(32)}\n".encode(), 0o600)
    return path.read_text(encoding="utf-8").strip()


def fingerprint(spec: DatasetSpec, secret: str | None) -> str:
    """What a build's files follow from: the catalog entry (its checksums aside) and
    the secret, if any."""
    inputs = f"{secret or ''}\n{spec.model_dump_json(exclude={'sha256'})}"
    return hashlib.sha256(inputs.encode()).hexdigest()


def _answers_root(out: Path) -> Path:
    root = out / ANSWERS
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)  # whatever made it before: only the instructors read the answers
    return root


def exports(
    name: str, spec: DatasetSpec, step: Progress | None = None, *, secret: str | None = None
) -> tuple[Simulation, HistorianExport, pd.DataFrame]:
    """The simulation (of a hidden set: drawn from `secret`) and its two exports, each
    from its own random stream."""
    step = step or (lambda _: None)
    step(STEPS[0])
    if spec.draw is None:
        sim = simulate(name, spec)
    elif secret is None:
        raise ValueError(f"{name}: a hidden set is drawn from a lab's secret: pass `secret`")
    else:
        sim = simulate_drawn(name, spec, secret)
    step(STEPS[1])
    # Hidden labels: where the data-quality quirks are must say nothing of the attacks.
    clear = not spec.hidden_labels
    historian = export_historian(sim, np.random.default_rng([sim.seed, 2]), clear_of_attacks=clear)
    step(STEPS[2])
    modbus = export_modbus(sim, np.random.default_rng([sim.seed, 3]))
    return sim, historian, modbus


def _write_parquet(
    frame: pd.DataFrame,
    path: Path,
    *,
    pandas_metadata: bool = True,
    metadata: dict[bytes, bytes] | None = None,
) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if not pandas_metadata:
        # pandas cannot rebuild a list<int32> ArrowDtype from its own metadata
        # (pandas#57411): without it, plain pd.read_parquet works in a notebook.
        table = table.replace_schema_metadata(None)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    pq.write_table(table, path, compression="zstd", compression_level=3)
    return table


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
            (
                a.attack_id,
                _iso(a.start),
                _iso(a.end),
                a.kind,
                TARGETS_SEPARATOR.join(a.targets),
                a.description,
            )
            for a in sim.attacks
        ],
        columns=ATTACK_COLUMNS,
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
        columns=TAG_COLUMNS,
    )


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.strftime(LABELS_TIME_FORMAT)


def verify_dataset(name: str, spec: DatasetSpec, out: Path) -> list[str]:
    """Problems with out/name against its checksums (empty = all good): the catalog's,
    or for hidden labels those its build recorded with the answers (each lab draws its
    own, so no catalog can hold them)."""
    folder = out / name
    if not spec.hidden_labels and not spec.sha256:
        return [f"{name}: the catalog records no checksums (run `icslab datasets build --record`)"]
    if not folder.is_dir():
        return [f"{folder}: not built (run `icslab datasets build {name}`)"]
    expected, says = spec.sha256, "the catalog says"
    if spec.hidden_labels:
        expected, problems = _recorded(name, spec, out)
        if problems:
            return problems
        says = "its build recorded"
    problems = [
        f"{name}: {says} no checksum for {file} (run `icslab datasets build --record`)"
        for file in FILES
        if file not in expected
    ]
    for file, digest in expected.items():
        path = built_file(out, name, spec, file)
        if not path.exists():
            hidden = path.parent == answers_folder(out, name)
            why = " (the hidden labels, kept for the leaderboard)" if hidden else ""
            problems.append(f"{path}: missing{why}")
        elif (actual := file_sha256(path)) != digest:
            problems.append(f"{path}: sha256 {actual}, {says} {digest}")
    if spec.hidden_labels and (folder / LABELS_FILE).exists():
        problems.append(
            f"{folder / LABELS_FILE}: the labels of {name} are hidden and must not be in its "
            f"folder (rebuild with `icslab datasets build {name}`)"
        )
    return problems


def _recorded(name: str, spec: DatasetSpec, out: Path) -> tuple[dict[str, str], list[str]]:
    """The checksums a hidden set's build recorded, if it was built from this catalog
    entry and this lab's secret."""
    record = answers_folder(out, name) / RECORD
    rebuild = f"rebuild with `icslab datasets build {name}`"
    if not record.exists():
        return {}, [f"{record}: missing, the checksums of the hidden set's build ({rebuild})"]
    secret = lab_secret(out) if spec.draw else None
    if spec.draw and secret is None:
        return {}, [
            f"{out / ANSWERS / SECRET}: missing, the secret {name} was drawn from "
            f"(a rebuild draws new attacks, and new answers: {rebuild})"
        ]
    found = json.loads(record.read_text(encoding="utf-8"))
    if found["spec"] != fingerprint(spec, secret):
        return {}, [f"{out / name}: built from another catalog entry or secret ({rebuild})"]
    return found["sha256"], []
