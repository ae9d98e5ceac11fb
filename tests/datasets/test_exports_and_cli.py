"""The built files as participants and instructors meet them."""

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from icslab.cli import app
from icslab.data import load_plant, to_wide
from icslab.errors import InputError
from icslab.formats import FILES
from icslab.sim.build import exports

BATADAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "batadal"


def icslab(*args):
    return CliRunner().invoke(app, list(args))


def test_the_historian_rebuilds_the_scada_table_within_each_deadband(catalog, built):
    """Long back to wide matches, except where the historian misbehaves on purpose
    (the periods the datacard lists)."""
    data = load_plant(built["sample"])
    _, export, _ = exports("sample", catalog.datasets["sample"])
    long = data.historian()
    pd.testing.assert_frame_equal(long, export.table)  # the file is the export
    wide = to_wide(long, end=data.features.index[-1])
    documented = pd.Series(False, index=wide.index)
    for period in export.periods().itertuples():
        documented |= (wide.index >= period.start) & (wide.index <= period.end)
    after_outage = export.outage[1] + pd.Timedelta(minutes=11)  # to_wide's max_gap
    documented |= (wide.index >= export.outage[0]) & (wide.index <= after_outage)
    card = (built["sample"] / "datacard.md").read_text()
    assert f"{export.drifting_plc}'s clock drifts" in card
    checked = 0
    for tag, meta in data.tags.iterrows():
        if meta["plc"] == export.drifting_plc:
            continue  # its timestamps run ahead by design
        keep = ~documented & wide[tag].notna()
        error = (wide.loc[keep, tag] - data.features.loc[wide.index[keep], tag]).abs()
        assert error.max() <= meta["deadband"] + 1e-9, (tag, error.max(), meta["deadband"])
        checked += 1
    assert checked >= 45


def test_the_modbus_polls_carry_the_scada_values(built):
    data = load_plant(built["sample"])
    traffic = data.modbus()
    polls = traffic[(traffic["src"] == "10.10.1.10") & (traffic["function_code"] == 3)]
    plc4 = polls[polls["dst"] == "10.10.2.14"].iloc[100]
    level = data.tags.loc["LIT401"]
    register = plc4["values"][int(level["register"]) - int(plc4["address"])]
    second = plc4["timestamp"].floor("s")
    assert register / level["scale"] == data.features.loc[second, "LIT401"]
    assert pd.read_parquet(built["sample"] / "modbus.parquet")["values"].map(len).max() > 10


def test_the_datacard_says_the_workstations_fsp301_writes_are_plc3s_own_cascade(built):
    """Network detectors learn these writes as normal: the card says who really makes
    them, how many there are, and a pattern the data keeps."""
    card = (built["test"] / "datacard.md").read_text()
    data = load_plant(built["test"])
    traffic = data.modbus()
    writes = traffic[
        (traffic["src"] == "10.10.1.20")
        & (traffic["function_code"] == 6)
        & (traffic["dst"] == "10.10.2.13")
        & (traffic["address"] == data.tags.loc["FSP301", "register"])
    ]
    stated = re.search(
        r"FSP301: ([\d,]+) of the writes \((\d+) a day\) come from PLC3 itself", card
    )
    assert stated, card
    assert int(stated[1].replace(",", "")) == len(writes) == 299  # 3 days, attacks aside
    assert int(stated[2]) == round(len(writes) / 3)
    assert "appears as 10.10.1.20 writing register 0 of PLC3 (10.10.2.13, unit 3)" in card
    assert "A network detector that learns from this traffic learns them as normal" in card
    # The pattern the card gives holds in the data: one register, 10 m3/h steps in 200-850,
    # at most one write per 10 minutes, just before the mark.
    registers = np.array([int(v[0]) for v in writes["values"]])
    assert ((registers >= 2000) & (registers <= 8500) & (registers % 100 == 0)).all()
    assert writes["timestamp"].diff().min() > pd.Timedelta(minutes=9, seconds=58)
    assert (writes["timestamp"].dt.second == 59).all()
    assert (writes["timestamp"].dt.minute % 10 == 9).all()


def test_labels_and_tags_files(built):
    labels = pd.read_csv(built["test"] / "labels.csv")
    assert list(labels.columns) == ["attack_id", "start", "end", "kind", "targets", "description"]
    assert labels["kind"].nunique() >= 6 and len(labels) >= 10
    tags = pd.read_csv(built["test"] / "tags.csv")
    assert list(tags.columns)[:7] == ["tag", "unit", "kind", "stage", "description", "low", "high"]
    assert len(tags) >= 60 and set(tags["kind"]) == {"sensor", "actuator", "setpoint", "status"}
    scada = pd.read_parquet(built["test"] / "scada.parquet")
    assert set(scada.columns) == {"timestamp", *tags["tag"]}  # no labels in the features
    assert np.all(np.diff(scada["timestamp"].to_numpy()) == np.timedelta64(1, "s"))


def test_cli_build_verify_and_list(tmp_path):
    built = icslab("datasets", "build", "sample", "--out", str(tmp_path))
    assert built.exit_code == 0, built.output
    assert sorted(p.name for p in (tmp_path / "sample").iterdir()) == sorted(FILES)
    assert icslab("datasets", "verify", "sample", "--out", str(tmp_path)).exit_code == 0
    listed = icslab("datasets", "list", "--out", str(tmp_path))
    assert all(name in listed.output for name in ("sample", "train", "test"))

    (tmp_path / "sample" / "scada.parquet").write_bytes(b"PAR1 truncated")
    broken = icslab("datasets", "verify", "sample", "--out", str(tmp_path))
    assert broken.exit_code == 2 and "scada.parquet: sha256" in broken.output


def test_cli_refuses_unknown_names(tmp_path):
    result = icslab("datasets", "build", "week", "--out", str(tmp_path))
    assert result.exit_code == 2 and "unknown dataset 'week'" in result.output
    assert list(tmp_path.iterdir()) == []
    result = icslab("datasets", "fetch", "swat", "--cache", str(tmp_path))
    assert result.exit_code == 2 and "icslab can fetch batadal" in result.output


def test_cli_fetches_batadal_into_a_cache_with_checksums(tmp_path):
    if not BATADAL.is_dir() and not os.environ.get("CI"):
        pytest.skip(f"real BATADAL files not found in {BATADAL}")
    result = icslab(
        "datasets", "fetch", "batadal", "--cache", str(tmp_path), "--source", str(BATADAL)
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "BATADAL_dataset03.csv", "BATADAL_dataset04.csv", "BATADAL_test_dataset.csv",
    ]  # fmt: skip


def test_a_truncated_or_missing_file_is_named(built, tmp_path):
    copy = tmp_path / "sample"
    copy.mkdir()
    for file in FILES:
        (copy / file).write_bytes((built["sample"] / file).read_bytes())
    scada = copy / "scada.arrow"  # what load_plant maps
    scada.write_bytes(scada.read_bytes()[:1000])
    with pytest.raises(InputError, match=r"scada.arrow: unreadable .*icslab datasets build"):
        load_plant(copy)
    scada.write_bytes(b"")
    with pytest.raises(InputError, match=r"scada.arrow: unreadable .*icslab datasets build"):
        load_plant(copy)
    scada.unlink()
    with pytest.raises(InputError, match=r"scada.arrow: missing"):
        load_plant(copy)
    with pytest.raises(InputError, match=r"no such dataset \(available: "):
        load_plant(tmp_path / "nothing-here")
