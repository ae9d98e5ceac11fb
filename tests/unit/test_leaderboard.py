"""The leaderboard scores what teams handed in to the lab's hand-in store, and only that."""

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from icslab.capstone import as_csv, leaderboard, target
from icslab.capstone.accept import PREDICTIONS, accept_predictions
from icslab.capstone.leaderboard import TEST, Board, Team, build_board, to_csv, to_html
from icslab.cli import app
from icslab.data import load_plant
from icslab.data import plant as plant_module
from icslab.errors import InputError
from icslab.handin import accept
from icslab.handin.store import Store, kind_for
from icslab.metrics import false_alarms_per_day
from icslab.paths import DATASETS_BUILD

REPO = Path(__file__).resolve().parents[2]
BATADAL_DIR = REPO.parent / "shared" / "data" / "batadal"
needs_batadal = pytest.mark.skipif(
    not BATADAL_DIR.is_dir() and not os.environ.get("CI"),
    reason=f"real BATADAL files not found in {BATADAL_DIR}",
)


@pytest.fixture(scope="module")
def sample():
    return load_plant("sample")


def hand_in(store, team, flags, dataset="sample"):
    """What the hand-in service does with a team's predictions."""
    rows = target(dataset, data=DATASETS_BUILD)
    body = as_csv(rows, np.asarray(flags, dtype=np.int8)).encode()
    sender = accept.Sender(f"{team}-member", team, (f"{team}-member",))
    return accept_predictions(store, sender, dataset, body, data=DATASETS_BUILD)


@pytest.fixture
def board_inputs(sample, tmp_path):
    """Three teams' hand-ins for `sample`, with its labels as the hidden answers."""
    store, answers = Store(tmp_path / "submissions"), tmp_path / "answers"
    (answers / "sample").mkdir(parents=True)
    (answers / "sample" / "labels.csv").write_bytes(
        (DATASETS_BUILD / "sample" / "labels.csv").read_bytes()
    )
    labels = sample.labels.astype(int)
    late = labels & labels.shift(600, fill_value=0)  # 10 minutes into each attack
    hand_in(store, "slow", late)
    hand_in(store, "best", pd.Series(0, index=labels.index))
    hand_in(store, "best", labels)  # the latest counts
    broken = hand_in(store, "broken", labels)
    (broken.folder / PREDICTIONS).write_text("timestamp,attack\n")  # changed afterwards
    return store, answers


def test_the_board_ranks_by_s_and_reports_what_it_cannot_score(board_inputs):
    store, answers = board_inputs
    board = build_board(store, ["power"], dataset="sample", answers=answers)
    names = [team.name for team in board.teams]
    assert names[:2] == ["best", "slow"] and set(names[2:]) == {"broken", "power"}
    assert board.teams[0].s("sample") == 1.0
    assert 0.25 < board.teams[1].s("sample") < 1.0
    (problem,) = board.problems
    assert problem.startswith("team broken:") and "missing or changed" in problem
    rows = list(csv.DictReader(to_csv(board).splitlines()))
    assert rows[0]["team"] == "best" and rows[0]["rank"] == "1" and rows[0]["S"] == "1.000"
    assert rows[1]["S_TTD"] and rows[1]["event_recall"] == "83%"  # a 5-minute scan missed
    assert rows[2]["rank"] == "" and rows[2]["S"] == ""


def test_an_alarm_that_never_stops_shows_its_false_alarms_and_time_in_alarm(board_inputs, sample):
    store, answers = board_inputs
    hand_in(store, "siren", np.ones(len(sample.labels)))
    board = build_board(store, dataset="sample", answers=answers)
    rows = {row["team"]: row for row in csv.DictReader(to_csv(board).splitlines())}
    # it scores S = 0.75, but the board shows an operator's view of it
    assert rows["siren"]["S"] == "0.750"
    assert rows["siren"]["normal_time_in_alarm"] == "100.0%"
    expected = false_alarms_per_day(sample.labels, np.ones(len(sample.labels)))
    assert expected > 0 and rows["siren"]["false_alarms_per_day"] == f"{expected:.1f}"
    assert rows["best"]["false_alarms_per_day"] == "0.0"
    assert rows["best"]["normal_time_in_alarm"] == "0.0%"
    assert "<th>in alarm</th>" in to_html(board)


def test_a_dataset_the_board_does_not_rank_is_reported(board_inputs, sample):
    store, answers = board_inputs
    hand_in(store, "slow", np.zeros(len(target("sample-train").cells)), "sample-train")
    board = build_board(store, dataset="sample", answers=answers)
    assert any("sample-train not scored" in problem for problem in board.problems)


def test_the_board_falls_back_on_published_labels_and_refuses_unknown_sets(board_inputs, tmp_path):
    store, _ = board_inputs
    board = build_board(store, dataset="sample", answers=tmp_path / "none")
    assert board.teams[0].name == "best"  # sample's own labels.csv
    with pytest.raises(InputError, match="unknown dataset 'week'"):
        build_board(store, dataset="week", answers=tmp_path / "none")
    with pytest.raises(InputError, match="plant dataset"):
        build_board(store, dataset="batadal-test")


def test_team_names_are_shown_as_written_never_as_html_or_markup(monkeypatch, tmp_path):
    board = Board("sample", [Team("<script>x"), Team("[bold]y")], ["<b>z"], pd.Timestamp.now())
    html = to_html(board)
    assert "&lt;script&gt;x" in html and "<script>" not in html and "&lt;b&gt;z" in html
    monkeypatch.setattr(leaderboard, "build_board", lambda *a, **k: board)
    out = tmp_path / "board.html"
    result = CliRunner().invoke(
        app, ["leaderboard", "--data-dir", str(tmp_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "[bo" in result.output  # the table is narrow: cut short, but with its brackets


def test_the_leaderboard_command_reads_the_labs_store(board_inputs, tmp_path):
    store, answers = board_inputs
    data_dir = store.root.parent
    out = tmp_path / "site" / "board.html"
    command = ["leaderboard", "--data-dir", str(data_dir), "--answers", str(answers)]
    result = CliRunner().invoke(app, [*command, "--out", str(out), "--dataset", "sample"])
    assert result.exit_code == 0, result.output
    assert "best" in result.output and "Not scored (1)" in result.output
    assert out.read_text().startswith("<!doctype html>")
    assert out.with_suffix(".csv").read_text().startswith("rank,team,S,")
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    missing = CliRunner().invoke(app, [*command, "--out", str(out), "--dataset", "week"])
    assert missing.exit_code == 2 and "unknown dataset 'week'" in missing.output


def test_a_csv_out_is_refused_rather_than_written_over_the_html(board_inputs, tmp_path):
    store, answers = board_inputs
    out = tmp_path / "board.csv"
    command = ["leaderboard", "--data-dir", str(store.root.parent), "--answers", str(answers)]
    result = CliRunner().invoke(app, [*command, "--out", str(out), "--dataset", "sample"])
    assert result.exit_code == 2 and "name the HTML file" in " ".join(result.output.split())
    assert not out.exists()


@needs_batadal
def test_batadal_hand_ins_are_checked_and_dataset04_scored(board_inputs, monkeypatch):
    from icslab.data import load_batadal

    store, answers = board_inputs
    monkeypatch.setenv("ICSLAB_BATADAL", str(BATADAL_DIR))
    validate = load_batadal(BATADAL_DIR / "BATADAL_dataset04.csv")
    hand_in(store, "best", validate.labels.fillna(False), "batadal-validate")
    test = hand_in(store, "best", np.ones(2089), "batadal-test")
    rows = (test.folder / PREDICTIONS).read_text().splitlines()
    assert rows[:2] == ["DATETIME,ATT_FLAG", "04/01/17 00,1"] and len(rows) == 2090
    board = build_board(store, dataset="sample", answers=answers)
    best = board.teams[0].results
    assert best["batadal-validate"].score.s == pytest.approx(1.0)
    assert best["batadal-test"].score is None and best["batadal-test"].alarms == 2089
    assert "2089/2089 h" in to_csv(board)


def test_batadal_hand_ins_without_batadal_are_reported(board_inputs, tmp_path, monkeypatch):
    store, answers = board_inputs
    # As if handed in while the files were there.
    shutil.copytree(store.folder("slow", kind_for("sample")), store.folder("slow", kind_for(TEST)))
    monkeypatch.setenv("ICSLAB_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("ICSLAB_BATADAL", raising=False)
    monkeypatch.setattr(plant_module, "BATADAL_CACHE", tmp_path / "cache" / "batadal")
    board = build_board(store, dataset="sample", answers=answers, data=DATASETS_BUILD)
    assert any("BATADAL submissions cannot be checked" in p for p in board.problems)
    assert board.teams[0].name == "best"


def test_the_board_refuses_a_set_without_labels(tmp_path):
    data = tmp_path / "data"
    (data / "tiny").mkdir(parents=True)
    shutil.copy(DATASETS_BUILD / "sample" / "scada.parquet", data / "tiny")
    with pytest.raises(InputError, match="no labels for tiny"):
        build_board(Store(tmp_path / "none"), dataset="tiny", data=data, answers=tmp_path / "a")
