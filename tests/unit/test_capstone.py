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

from icslab import capstone
from icslab.capstone import check_team, read_submission, score, submit, target
from icslab.cli import app
from icslab.data import batadal_folder, load_plant
from icslab.data import plant as plant_module
from icslab.errors import InputError
from icslab.leaderboard import build_board, to_csv, to_html
from icslab.sim.build import answers_folder, build_dataset, verify_dataset
from icslab.sim.catalog import DatasetSpec, load_catalog

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
        "datacard.md", "historian.parquet", "modbus.parquet", "scada.parquet", "tags.csv",
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
    assert list(data.attacks.columns) == list(plant_module.ATTACK_COLUMNS)
    assert data.attacks.empty and str(data.attacks["start"].dtype).startswith("datetime64")
    assert repr(data) == "PlantData(tiny: 7,200 s x 63 tags, labels hidden)"
    assert len(data.features) == 7200


def test_a_dataset_missing_its_labels_is_still_an_error(tmp_path):
    copy = tmp_path / "sample"
    copy.mkdir()
    sample = plant_module.REPO_BUILD / "sample"
    for name in ("scada.parquet", "tags.csv"):
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


def test_the_catalog_capstone_is_hidden_and_new():
    catalog = load_catalog()
    spec, test = catalog.datasets["capstone"], catalog.datasets["test"]
    assert spec.hidden_labels and not test.hidden_labels
    assert len(spec.attacks) >= 10 and len({a.kind for a in spec.attacks}) == 10
    assert spec.seed != test.seed and spec.start >= test.start
    assert set(spec.sha256) == {"scada.parquet", "historian.parquet", "modbus.parquet",
                                "labels.csv", "tags.csv", "datacard.md"}  # fmt: skip
    seen = {(a.kind, a.target, a.at) for a in test.attacks}
    assert not seen & {(a.kind, a.target, a.at) for a in spec.attacks}


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
    monkeypatch.setattr(plant_module, "REPO_BATADAL", tmp_path / "cache" / "batadal")
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
    cache = fake_batadal(plant_module.REPO_BATADAL)
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


def test_submit_writes_the_latest_and_keeps_every_version(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("ICSLAB_SUBMISSIONS", str(tmp_path / "subs"))
    flags = sample.labels.astype(int)
    first = submit(flags, team="blue-team", dataset="sample")
    second = submit(flags.to_numpy().astype(bool), team="blue-team", dataset="sample")
    folder = tmp_path / "subs" / "blue-team"
    assert first.path == second.path == folder / "sample.csv"
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 3 and files[-1] == "sample.csv"  # two versions and the latest
    assert first.version != second.version and first.version.exists()
    assert second.path.read_bytes() == second.version.read_bytes()
    rows = list(csv.reader(second.path.open()))
    assert rows[0] == ["timestamp", "attack"] and len(rows) == len(sample.labels) + 1
    assert rows[1] == ["2026-03-02T06:00:00Z", "0"]
    assert second.alarms == int(flags.sum()) and second.rows == len(flags)
    assert "blue-team/sample" in repr(second)
    assert np.array_equal(read_submission(second.path, target("sample")), flags.to_numpy())


def test_the_default_submissions_folder_is_in_work(monkeypatch, tmp_path):
    monkeypatch.delenv("ICSLAB_SUBMISSIONS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert capstone.submissions_folder() == tmp_path / "work" / "submissions"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.iloc[:-1], "28,799 timestamps"),
        (lambda f: f.to_numpy()[:-1], "28,799 flags, but sample has 28,800 rows"),
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
    always = score(np.ones(len(labels)), labels)
    assert always.s == pytest.approx(0.75) and always.alarm_share == 1
    assert np.isnan(score(np.ones(len(labels)), labels.to_numpy()).false_alarms_per_day)
    with pytest.raises(InputError, match="hidden"):
        score(np.ones(3), None)


# -- the leaderboard -----------------------------------------------------------------------


@pytest.fixture
def board_inputs(sample, tmp_path):
    """Three teams' submissions for `sample`, with its labels as the hidden answers."""
    subs, answers = tmp_path / "subs", tmp_path / "answers"
    (answers / "sample").mkdir(parents=True)
    (answers / "sample" / "labels.csv").write_bytes(
        (plant_module.REPO_BUILD / "sample" / "labels.csv").read_bytes()
    )
    labels = sample.labels.astype(int)
    late = labels & labels.shift(600, fill_value=0)  # 10 minutes into each attack
    submit(late, team="slow", dataset="sample", folder=subs)
    submit(pd.Series(0, index=labels.index), team="best", dataset="sample", folder=subs)
    submit(labels, team="best", dataset="sample", folder=subs)  # the latest counts
    submit(labels, team="broken", dataset="sample", folder=subs)
    (subs / "broken" / "sample.csv").write_text("timestamp,attack\n2026-03-02T06:00:00Z,1\n")
    (subs / "broken" / "notes.txt").write_text("our ideas")
    (subs / "broken" / "week.csv").write_text("timestamp,attack\n")
    (subs / "<script>odd").mkdir()
    return subs, answers


def test_the_board_ranks_by_s_and_reports_what_it_cannot_score(board_inputs):
    subs, answers = board_inputs
    board = build_board([subs], dataset="sample", answers=answers)
    names = [team.name for team in board.teams]
    assert names[:2] == ["best", "slow"] and set(names[2:]) == {"broken", "<script>odd"}
    assert board.teams[0].s("sample") == 1.0
    assert 0.25 < board.teams[1].s("sample") < 1.0
    text = "\n".join(board.problems)
    assert "team broken:" in text and "1 rows, sample has 28,800" in text
    assert "notes.txt: not a submission" in text
    assert "week.csv: not scored" in text
    html = to_html(board)
    assert "&lt;script&gt;odd" in html and "<script>" not in html
    rows = list(csv.DictReader(to_csv(board).splitlines()))
    assert rows[0]["team"] == "best" and rows[0]["rank"] == "1" and rows[0]["S"] == "1.000"
    assert rows[1]["S_TTD"] and rows[1]["event_recall"] == "83%"  # a 5-minute scan missed
    assert rows[2]["rank"] == "" and rows[2]["S"] == ""


def test_the_board_falls_back_on_published_labels_and_refuses_unknown_sets(board_inputs, tmp_path):
    subs, _ = board_inputs
    board = build_board([subs], dataset="sample", answers=tmp_path / "none")
    assert board.teams[0].name == "best"  # sample's own labels.csv
    with pytest.raises(InputError, match="unknown dataset 'week'"):
        build_board([subs], dataset="week", answers=tmp_path / "none")
    with pytest.raises(InputError, match="plant dataset"):
        build_board([subs], dataset="batadal-test")


def test_the_board_refuses_a_hidden_set_without_answers(hidden, tmp_path):
    out, _ = hidden
    with pytest.raises(InputError, match="no labels for tiny"):
        build_board([tmp_path], dataset="tiny", data=out, answers=tmp_path / "none")
    board = build_board([tmp_path], dataset="tiny", data=out)  # default: out/.answers
    assert board.teams == [] and board.problems == []


def test_the_leaderboard_command_writes_html_and_csv(board_inputs, tmp_path):
    subs, answers = board_inputs
    out = tmp_path / "site" / "board.html"
    command = ["leaderboard", "--submissions", str(subs), "--answers", str(answers)]
    result = CliRunner().invoke(app, [*command, "--out", str(out), "--dataset", "sample"])
    assert result.exit_code == 0, result.output
    assert "best" in result.output and "Not scored (3)" in result.output
    assert out.read_text().startswith("<!doctype html>")
    assert out.with_suffix(".csv").read_text().startswith("rank,team,S,")
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    missing = CliRunner().invoke(app, ["leaderboard", "--submissions", str(subs),
                                       "--out", str(out), "--dataset", "week"])  # fmt: skip
    assert missing.exit_code == 2 and "unknown dataset 'week'" in missing.output


@needs_batadal
def test_batadal_submissions_are_checked_and_dataset04_scored(board_inputs, monkeypatch):
    from icslab.data import load_batadal

    subs, answers = board_inputs
    monkeypatch.setenv("ICSLAB_BATADAL", str(BATADAL_DIR))
    validate = load_batadal(BATADAL_DIR / "BATADAL_dataset04.csv")
    test = load_batadal(BATADAL_DIR / "BATADAL_test_dataset.csv")
    submit(validate.labels.fillna(False), team="best", dataset="batadal-validate", folder=subs)
    submit(pd.Series(1, index=test.features.index), team="best", dataset="batadal-test",
           folder=subs)  # fmt: skip
    rows = (subs / "best" / "batadal-test.csv").read_text().splitlines()
    assert rows[:2] == ["DATETIME,ATT_FLAG", "04/01/17 00,1"] and len(rows) == 2090
    with pytest.raises(InputError, match="2,088 flags, but batadal-test has 2,089 rows"):
        submit(np.ones(2088), team="best", dataset="batadal-test", folder=subs)
    (subs / "slow" / "batadal-test.csv").write_text("DATETIME,ATT_FLAG\n04/01/17 00,2\n")
    board = build_board([subs], dataset="sample", answers=answers)
    best = board.teams[0].results
    assert best["batadal-validate"].score.s == pytest.approx(1.0)
    assert best["batadal-test"].score is None and best["batadal-test"].alarms == 2089
    assert any("slow" in p and "batadal-test.csv" in p for p in board.problems)
    assert "2089/2089 h" in to_csv(board)


def test_batadal_submissions_without_batadal_are_reported(board_inputs, no_batadal):
    subs, answers = board_inputs
    (subs / "best" / "batadal-test.csv").write_text("DATETIME,ATT_FLAG\n")
    board = build_board([subs], dataset="sample", answers=answers, data=plant_module.REPO_BUILD)
    assert any("BATADAL submissions cannot be checked" in p for p in board.problems)
    assert board.teams[0].name == "best"


def test_a_csv_out_is_refused_rather_than_written_over_the_html(board_inputs, tmp_path):
    subs, answers = board_inputs
    out = tmp_path / "board.csv"
    command = ["leaderboard", "--submissions", str(subs), "--answers", str(answers)]
    result = CliRunner().invoke(app, [*command, "--out", str(out), "--dataset", "sample"])
    assert result.exit_code == 2 and "name the HTML file" in " ".join(result.output.split())
    assert not out.exists()


def test_a_team_name_is_shown_as_written_never_as_markup(board_inputs, tmp_path):
    subs, answers = board_inputs
    (subs / "best").rename(subs / "[bold]x")
    command = ["leaderboard", "--submissions", str(subs), "--answers", str(answers)]
    out = tmp_path / "board.html"
    result = CliRunner().invoke(app, [*command, "--out", str(out), "--dataset", "sample"])
    assert result.exit_code == 0, result.output
    # The table is narrow here: the name shows cut short, but with its brackets.
    assert "│ [bo" in result.output
