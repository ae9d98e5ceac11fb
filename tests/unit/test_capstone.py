"""The capstone: a hidden-label dataset, submissions, scoring and the leaderboard."""

import csv
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from icslab import capstone, formats
from icslab.capstone import check_team, read_submission, score, submit, target
from icslab.cli import app
from icslab.data import batadal_folder, load_plant
from icslab.data import plant as plant_module
from icslab.errors import InputError
from icslab.metrics import false_alarms_per_day
from icslab.paths import DATASETS_BUILD
from icslab.sim.attacks import KINDS
from icslab.sim.build import answers_folder, build_dataset, verify_dataset
from icslab.sim.catalog import DatasetSpec, labelled_pairs, load_catalog

REPO = Path(__file__).resolve().parents[2]
BATADAL_DIR = REPO.parent / "shared" / "data" / "batadal"
needs_batadal = pytest.mark.skipif(
    not BATADAL_DIR.is_dir() and not os.environ.get("CI"),
    reason=f"real BATADAL files not found in {BATADAL_DIR}",
)


def hidden_spec(hidden=True):
    return DatasetSpec.model_validate(
        {
            "description": "two hours with one hidden attack",
            "start": "2026-01-01T00:00:00Z",
            "hours": 2,
            "seed": 3,
            "hidden_labels": hidden,
            "attacks": [
                {"kind": "actuator_force", "at": "0d01:00", "minutes": 20,
                 "target": "P101_CMD", "value": 1},
            ],
        }
    )  # fmt: skip


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    """A small dataset with hidden labels, built into a temporary folder: (out, checksums)."""
    out = tmp_path_factory.mktemp("build")
    return out, build_dataset("tiny", hidden_spec(), out)


# -- building and loading a dataset whose labels are hidden -------------------------------


def test_hidden_labels_go_to_the_answers_folder_only(hidden):
    out, checksums = hidden
    assert sorted(p.name for p in (out / "tiny").iterdir()) == [
        "datacard.md", "historian.parquet", "modbus.arrow", "modbus.parquet", "scada.arrow",
        "scada.parquet", "tags.csv",
    ]  # fmt: skip
    answers = answers_folder(out, "tiny") / "labels.csv"
    assert answers == out / ".answers" / "tiny" / "labels.csv"
    assert "P101_CMD forced to 1" in answers.read_text()
    assert stat.S_IMODE(answers.stat().st_mode) == 0o600
    assert stat.S_IMODE((out / ".answers").stat().st_mode) == 0o700
    assert set(checksums) == {*(p.name for p in (out / "tiny").iterdir()), "labels.csv"}
    # no staging folder left behind, next to the dataset or to the answers
    assert sorted(p.name for p in out.iterdir()) == [".answers", "tiny"]
    assert sorted(p.name for p in (out / ".answers").iterdir()) == ["tiny"]


def test_the_datacard_and_features_of_a_hidden_set_tell_nothing_of_its_attacks(hidden):
    out, _ = hidden
    card = (out / "tiny" / "datacard.md").read_text()
    assert "Attacks: hidden" in card and "## Known data-quality issues" in card
    assert "P101_CMD" not in card.split("## Attacks")[1]
    assert "| labels.csv |" not in card and "actuator_force" not in card
    metadata = pq.read_schema(out / "tiny" / "scada.parquet").metadata
    assert metadata[b"icslab.labels"] == b"hidden"


def test_load_plant_without_labels(hidden):
    out, _ = hidden
    data = load_plant(out / "tiny")
    assert data.labels is None and data.labels_hidden
    assert list(data.attacks.columns) == list(formats.ATTACK_COLUMNS)
    assert data.attacks.empty and str(data.attacks["start"].dtype).startswith("datetime64")
    assert repr(data) == "PlantData(tiny: 7,200 s x 63 tags, labels hidden)"
    assert len(data.features) == 7200


def test_a_dataset_missing_its_labels_is_still_an_error(tmp_path):
    copy = tmp_path / "sample"
    copy.mkdir()
    sample = DATASETS_BUILD / "sample"
    for name in ("scada.arrow", "tags.csv"):  # what load_plant reads before the labels
        (copy / name).write_bytes((sample / name).read_bytes())
    with pytest.raises(InputError, match=r"labels\.csv: missing"):
        load_plant(copy)  # labels not hidden: missing is missing


def test_verify_covers_the_hidden_labels(hidden, tmp_path):
    out, checksums = hidden
    spec = hidden_spec().model_copy(update={"sha256": checksums})
    assert verify_dataset("tiny", spec, out) == []
    answers = answers_folder(out, "tiny") / "labels.csv"
    original = answers.read_bytes()
    try:
        answers.write_text("attack_id,start,end,kind,targets,description\n")
        assert any("labels.csv: sha256" in p for p in verify_dataset("tiny", spec, out))
        answers.unlink()
        problems = verify_dataset("tiny", spec, out)
        assert any(".answers/tiny/labels.csv: missing (the hidden labels" in p for p in problems)
        (out / "tiny" / "labels.csv").write_bytes(original)
        assert any("must not be in its folder" in p for p in verify_dataset("tiny", spec, out))
    finally:
        (out / "tiny" / "labels.csv").unlink(missing_ok=True)
        answers.write_bytes(original)


def test_labels_no_longer_hidden_leave_no_stale_answers(tmp_path):
    build_dataset("tiny", hidden_spec(), tmp_path)
    build_dataset("tiny", hidden_spec(hidden=False), tmp_path)
    assert (tmp_path / "tiny" / "labels.csv").exists()
    assert not answers_folder(tmp_path, "tiny").exists()
    assert load_plant(tmp_path / "tiny").labels.any()


def test_the_catalog_capstone_is_hidden_and_drawn_per_lab():
    catalog = load_catalog()
    spec, test = catalog.datasets["capstone"], catalog.datasets["test"]
    assert spec.hidden_labels and not test.hidden_labels
    # Nothing in the public catalog rebuilds it: each lab's secret draws seed and attacks
    # (tests/datasets/test_hidden_schedule.py), so its checksums differ from lab to lab.
    assert spec.seed is None and not spec.attacks and not spec.sha256
    assert spec.draw.attacks >= 10 and set(spec.draw.kinds) == set(KINDS)
    assert spec.start >= test.start
    assert labelled_pairs(test) <= set(spec.draw.avoid)  # nothing participants saw in test


def test_datasets_list_shows_hidden_labels(hidden):
    out, _ = hidden
    listed = CliRunner().invoke(app, ["datasets", "list", "--out", str(out)])
    assert listed.exit_code == 0
    assert "labels hidden" in listed.output


# -- batadal_folder -------------------------------------------------------------------------


@pytest.fixture
def no_batadal(tmp_path, monkeypatch):
    """No BATADAL anywhere: empty datasets folder, no cache, no variable."""
    monkeypatch.setenv("ICSLAB_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("ICSLAB_BATADAL", raising=False)
    monkeypatch.setattr(plant_module, "BATADAL_CACHE", tmp_path / "cache" / "batadal")
    return tmp_path


def fake_batadal(folder: Path, names=plant_module.BATADAL_FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("DATETIME\n")
    return folder


def test_batadal_folder_names_every_place_and_the_fetch_command(no_batadal, monkeypatch):
    partial = fake_batadal(no_batadal / "mine", plant_module.BATADAL_FILES[:2])
    monkeypatch.setenv("ICSLAB_BATADAL", str(partial))
    with pytest.raises(InputError) as error:
        batadal_folder()
    text = str(error.value)
    assert f"{partial} ($ICSLAB_BATADAL) lacks BATADAL_test_dataset.csv" in text
    assert f"{no_batadal / 'data' / 'batadal'} (the datasets folder) does not exist" in text
    assert "cache" in text and "icslab datasets fetch batadal" in text


def test_batadal_folder_order(no_batadal, monkeypatch):
    cache = fake_batadal(plant_module.BATADAL_CACHE)
    assert batadal_folder() == cache
    data = fake_batadal(no_batadal / "data" / "batadal")
    assert batadal_folder() == data
    mine = fake_batadal(no_batadal / "mine")
    monkeypatch.setenv("ICSLAB_BATADAL", str(mine))
    assert batadal_folder() == mine


# -- submit --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return load_plant("sample")


def test_outside_a_lab_submit_keeps_a_practice_copy(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("ICSLAB_SUBMISSIONS", str(tmp_path / "subs"))
    monkeypatch.delenv("ICSLAB_SUBMIT_URL", raising=False)
    flags = sample.labels.astype(int)
    first = submit(flags, team="blue-team", dataset="sample")
    second = submit(flags.to_numpy().astype(bool), team="blue-team", dataset="sample")
    path = tmp_path / "subs" / "blue-team" / "sample.csv"
    assert [p.name for p in path.parent.iterdir()] == ["sample.csv"]  # the latest only
    assert "practice" in second.receipt and str(path) in second.receipt
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["timestamp", "attack"] and len(rows) == len(sample.labels) + 1
    assert rows[1] == ["2026-03-02T06:00:00Z", "0"]
    assert first.alarms == second.alarms == int(flags.sum()) and second.rows == len(flags)
    assert "blue-team/sample" in repr(second)
    assert np.array_equal(read_submission(path, target("sample")), flags.to_numpy())


def test_a_submission_file_that_does_not_line_up_is_named_never_quoted(sample, tmp_path):
    path = tmp_path / "sample.csv"
    secret = "SECRET-MARKER-7"
    for text, reason in [
        (f"timestamp,attack\n{secret},1\n", "1 rows"),
        (f"{secret},attack\n", "the header must be timestamp,attack"),
        ("timestamp,attack\n" + "2026-03-02T06:00:00Z,7\n" * 28800, "line 2 must be"),
        (f'"{secret}\n', "not a CSV file"),
    ]:
        path.write_text(text)
        with pytest.raises(InputError, match=reason) as error:
            read_submission(path, target("sample"))
        assert secret not in str(error.value) and ",7" not in str(error.value)


def test_the_default_submissions_folder_is_in_work(monkeypatch, tmp_path):
    monkeypatch.delenv("ICSLAB_SUBMISSIONS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert capstone.submissions_folder() == tmp_path / "work" / "submissions"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.iloc[:-1], "28,799 timestamps"),
        (lambda f: pd.concat([f, f.iloc[-1:].shift(1, freq="s")]), "28,801 timestamps"),
        (lambda f: f.to_numpy()[:-1], "28,799 flags, but sample has 28,800 rows"),
        (lambda f: np.append(f.to_numpy(), 0), "28,801 flags, but sample has 28,800 rows"),
        (lambda f: f.resample("10s").max(), "one flag every 10 s"),
        (lambda f: f.astype(float).where(f.index.minute != 7), "missing \\(NaN\\)"),
        (lambda f: f * 2, "must be 0 or 1"),
        (lambda f: pd.DataFrame({"a": f, "b": f}), "one column"),
        (lambda f: f.shift(1, freq="s"), "timestamps differ"),
        (lambda f: f.tz_localize(None), "no time zone"),
        (lambda f: np.ones((len(f), 2)), "1-D"),
    ],
)
def test_submit_refuses_predictions_that_do_not_line_up(sample, tmp_path, change, message):
    flags = sample.labels.astype(int)
    with pytest.raises(InputError, match=message):
        submit(change(flags), team="blue", dataset="sample", folder=tmp_path)
    assert not (tmp_path / "blue" / "sample.csv").exists()


@pytest.mark.parametrize("team", ["", "a b", "../up", "x" * 41, "-lead", None, "é"])
def test_team_names_are_checked(team):
    with pytest.raises(InputError, match="letters, digits"):
        check_team(team)


def test_unknown_datasets_are_named(tmp_path):
    with pytest.raises(InputError, match=r"unknown dataset 'week': submit for one of .*sample"):
        submit([0, 1], team="blue", dataset="week", folder=tmp_path)
    with pytest.raises(InputError, match=r"unknown dataset '\.\./sample'"):
        submit([0, 1], team="blue", dataset="../sample", folder=tmp_path)


def test_score_gives_s_and_its_parts(sample):
    labels = sample.labels
    perfect = score(labels.astype(int), labels)
    assert perfect.s == 1 and perfect.event_recall == 1 and perfect.false_alarms_per_day == 0
    assert perfect.normal_time_in_alarm == 0
    always = score(np.ones(len(labels)), labels)
    assert always.s == pytest.approx(0.75) and always.alarm_share == 1
    # an alarm that never stops: all the normal time in alarm, a false alarm per stretch
    assert always.normal_time_in_alarm == 1
    assert always.false_alarms_per_day == pytest.approx(
        false_alarms_per_day(labels, np.ones(len(labels)))
    )
    assert always.false_alarms_per_day >= 1
    untimed = score(np.ones(len(labels)), labels.to_numpy())
    assert np.isnan(untimed.false_alarms_per_day) and np.isnan(untimed.normal_time_in_alarm)
    with pytest.raises(InputError, match="hidden"):
        score(np.ones(3), None)
