"""A hidden set is drawn per lab from a secret kept with the answers: what participants
can read (the published files, the catalog, icslab) never rebuilds its labels."""

import dataclasses
import re
import shutil
import stat

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from icslab.cli import app
from icslab.errors import InputError
from icslab.formats import FILES
from icslab.sim.build import RECORD, SECRET, answers_folder, build_dataset, verify_dataset
from icslab.sim.catalog import DatasetSpec, load_catalog
from icslab.sim.draw import drawn, simulate_drawn, unseen
from icslab.sim.historian_export import export_historian
from icslab.sim.simulate import simulate

SECRETS = ("a" * 64, "b" * 64)  # fixed, so that every run checks the same draws
KINDS = ["sensor_drift", "replay", "modbus_injection", "coordinated", "reconnaissance"]
TINY = {
    "description": "four hours with hidden, drawn attacks",
    "start": "2026-01-01T00:00:00Z",
    "hours": 4,
    "hidden_labels": True,
    "draw": {"attacks": 5, "kinds": KINDS, "minutes": [10, 25], "gap_minutes": 15},
}


def spec(**draw) -> DatasetSpec:
    return DatasetSpec.model_validate({**TINY, "draw": {**TINY["draw"], **draw}})


def with_secret(out, secret):
    (out / ".answers").mkdir(mode=0o700, parents=True)
    (out / ".answers" / SECRET).write_text(secret + "\n")
    (out / ".answers" / SECRET).chmod(0o600)
    return out


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The tiny set built twice from the first secret, once from the second: [out]."""
    outs = [with_secret(tmp_path_factory.mktemp("lab"), s) for s in (*SECRETS[:1], *SECRETS)]
    for out in outs:
        build_dataset("tiny", spec(), out)
    return outs


def published(out):
    """Every file the participant image gets (it leaves out OUT/.* folders)."""
    return [p for p in sorted(out.rglob("*")) if p.is_file() and ".answers" not in p.parts]


def labels(out) -> pd.DataFrame:
    return pd.read_csv(answers_folder(out, "tiny") / "labels.csv")


def test_the_first_build_makes_a_private_secret_and_later_builds_keep_it(tmp_path):
    build_dataset("tiny", spec(), tmp_path)
    secret = tmp_path / ".answers" / SECRET
    assert re.fullmatch(r"[0-9a-f]{64}\n", secret.read_text())
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / ".answers").stat().st_mode) == 0o700
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    build_dataset("tiny", spec(), tmp_path)  # a rebuild on the same machine: the same files
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_the_same_secret_gives_the_same_data_another_secret_other_attacks(builds):
    first, again, other = builds
    for file in [*FILES, RECORD]:
        assert _built(first, file).read_bytes() == _built(again, file).read_bytes(), file
    assert not labels(first)[["start", "end"]].equals(labels(other)[["start", "end"]])
    assert (
        _built(first, "scada.parquet").read_bytes() != _built(other, "scada.parquet").read_bytes()
    )
    assert len(labels(first)) == len(labels(other)) == 5
    assert set(labels(first)["kind"]) == set(KINDS)


def test_nothing_published_holds_the_seed_the_secret_or_the_attack_times(builds):
    out = builds[0]
    seed = drawn("tiny", spec(), SECRETS[0]).seed
    secrets = [SECRETS[0], str(seed), f"{seed:x}", f"{seed:X}"]
    times = []
    for attack in labels(out).itertuples():
        for stamp in (pd.Timestamp(attack.start), pd.Timestamp(attack.end)):
            minutes = int((stamp - pd.Timestamp(TINY["start"])).total_seconds()) // 60
            offset = f"{minutes // 1440}d{minutes % 1440 // 60:02d}:{minutes % 60:02d}"
            times += [
                stamp.strftime("%Y-%m-%dT%H:%M:%S"),
                stamp.strftime("%Y-%m-%d %H:%M:%S"),
                offset,
            ]
    files = published(out)
    assert sorted(p.name for p in files) == sorted(set(FILES) - {"labels.csv"})
    for path in files:
        data = path.read_bytes()
        assert not [s for s in secrets if s.encode() in data], path
        text = str(_metadata(path)) if path.suffix in (".parquet", ".arrow") else data.decode()
        assert not [t for t in times if t in text], path
    card = (out / "tiny" / "datacard.md").read_text()
    hidden = card.split("\n## Attacks\n")[1].split("## Known data-quality issues")[0]
    assert "5 attacks, each of these kinds at least once" in hidden
    assert not re.search(r"[A-Z]{2,}\d{3}|PLC\d|\d\d:\d\d", hidden)  # no tags, PLCs, times
    # The workstation's writes are explained without counts: a gap would point at an attack.
    writes = card.split("\nThe engineering workstation")[1]
    assert "FSP301: most of the writes come from PLC3 itself" in writes
    assert not re.search(r"\d+ writes here|of the writes \(|per tag", writes)


def test_where_the_historian_misbehaves_says_nothing_of_the_attacks():
    sim = simulate_drawn("tiny", spec(), SECRETS[0])
    hidden = export_historian(sim, np.random.default_rng(2), clear_of_attacks=False)
    none = export_historian(dataclasses.replace(sim, attacks=[]), np.random.default_rng(2))
    pd.testing.assert_frame_equal(hidden.periods(), none.periods())
    assert hidden.outage == none.outage


def test_draws_keep_to_the_catalog_and_show_nothing_published_sets_label():
    capstone = load_catalog().datasets["capstone"]
    draw, total = capstone.draw, capstone.seconds // 60
    seeds = set()
    for n in range(200):
        chosen = drawn("capstone", capstone, f"secret {n}")
        assert chosen == drawn("capstone", capstone, f"secret {n}")
        seeds.add(chosen.seed)
        attacks = chosen.attacks
        assert len(attacks) == draw.attacks and {a.kind for a in attacks} == set(draw.kinds)
        ends = [0]
        for attack in attacks:
            begin = attack.offset_seconds // 60
            assert begin - ends[-1] >= draw.gap_minutes
            assert draw.minutes[0] <= attack.minutes <= draw.minutes[1]
            ends.append(begin + attack.minutes)
        assert total - ends[-1] >= draw.gap_minutes
        pairs = [(a.kind, a.target) for a in attacks if a.kind != "coordinated"]
        assert len(set(pairs)) == len(pairs) and not set(pairs) & set(draw.avoid)
    assert len(seeds) == 200


def test_a_draw_where_an_attack_would_not_show_is_drawn_again(monkeypatch):
    # The backwash pump forced off, as it is anyway: a label nobody could find.
    attack = {"kind": "actuator_force", "at": "0d01:00", "minutes": 20, "target": "P301_CMD"}
    fixed = DatasetSpec.model_validate({**TINY, "draw": None, "seed": 1, "attacks": [attack]})
    sim = simulate("tiny", fixed)
    assert unseen(sim, simulate("tiny", fixed.model_copy(update={"attacks": ()}))) == ["A01"]

    drawn_attacks = []

    def first_unseen(sim, quiet):
        drawn_attacks.append(sim.attacks)
        return ["A01"] if len(drawn_attacks) == 1 else []

    monkeypatch.setattr("icslab.sim.draw.unseen", first_unseen)
    assert simulate_drawn("tiny", spec(), SECRETS[0]).attacks == drawn_attacks[1]
    assert drawn_attacks[1] != drawn_attacks[0]


def test_verify_checks_a_hidden_set_against_its_own_build(builds, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(builds[0], out)
    assert verify_dataset("tiny", spec(), out) == []
    assert any(
        "another catalog entry" in p for p in verify_dataset("tiny", spec(minutes=[9, 25]), out)
    )
    scada = out / "tiny" / "scada.parquet"
    original = scada.read_bytes()
    scada.write_bytes(original[:100])
    assert any("scada.parquet: sha256" in p and "its build recorded" in p
               for p in verify_dataset("tiny", spec(), out))  # fmt: skip
    scada.write_bytes(original)
    (out / ".answers" / SECRET).write_text(SECRETS[1])
    assert any("another catalog entry or secret" in p for p in verify_dataset("tiny", spec(), out))
    (out / ".answers" / SECRET).unlink()
    assert any(f"{SECRET}: missing" in p for p in verify_dataset("tiny", spec(), out))


def test_a_hidden_set_in_the_catalog_gives_no_seed_attacks_or_checksums(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(
        "version = 1\n[datasets.small]\ndescription = 'x'\nstart = 2026-01-01T00:00:00Z\n"
        "hours = 6\nseed = 1\nhidden_labels = true\n"
    )
    with pytest.raises(InputError, match=r"datasets\.small: labels are hidden, so its seed"):
        load_catalog(path)
    path.write_text(path.read_text().replace("seed = 1\n", "draw = { attacks = 30 }\n"))
    with pytest.raises(InputError, match=r"datasets\.small: `draw` may need"):
        load_catalog(path)


def test_cli_builds_verifies_and_records_no_checksums_for_a_hidden_set(tmp_path, monkeypatch):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        "version = 1\n[datasets.tiny]\ndescription = 'x'\nstart = 2026-01-01T00:00:00Z\n"
        "hours = 4\nhidden_labels = true\n"
        "draw = { attacks = 2, kinds = ['frozen', 'reconnaissance'], minutes = [10, 20] }\n"
    )
    monkeypatch.setattr("icslab.sim.catalog.CATALOG", catalog)
    monkeypatch.setattr("icslab.cli.datasets._catalog", lambda: load_catalog(catalog))
    out = str(tmp_path / "build")

    def icslab(*args):
        return CliRunner().invoke(app, ["datasets", *args, "--out", out])

    built = icslab("build", "tiny", "--record")
    assert built.exit_code == 0, built.output
    assert "[datasets.tiny.sha256]" not in catalog.read_text()  # they differ in every lab
    assert icslab("verify", "tiny").exit_code == 0
    assert "drawn per lab" in icslab("list").output


def _built(out, file):
    return (
        answers_folder(out, "tiny") / file
        if file in ("labels.csv", RECORD)
        else out / "tiny" / file
    )


def _metadata(path) -> dict:
    """Key-value metadata of a parquet or Arrow file: the one place text hides in one."""
    if path.suffix == ".arrow":
        return pa.ipc.open_file(path).schema.metadata or {}
    return {**(pq.read_metadata(path).metadata or {}), **(pq.read_schema(path).metadata or {})}
