"""Scenarios: a team member submits the team's notebooks (twice), an instructor
collects every team's latest submission."""

import json
import zipfile
from datetime import UTC, datetime

import nbformat
import pytest

from icslab import homework
from icslab.errors import InputError

MONDAY = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def notebook(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nbformat.write(nb, path)


@pytest.fixture
def water(tmp_path, monkeypatch):
    folder = tmp_path / "teams" / "water"
    folder.mkdir(parents=True)
    monkeypatch.setenv("ICSLAB_TEAM", "water")
    monkeypatch.setenv("ICSLAB_TEAM_DIR", str(folder))
    monkeypatch.setenv("ICSLAB_TEAM_MEMBERS", "p01,p02")
    monkeypatch.setenv("JUPYTERHUB_USER", "p01")
    return folder


def test_a_submission_holds_notebooks_html_and_a_checked_manifest(water):
    notebook(water / "detector.ipynb", "# Our detector")
    notebook(water / "drafts" / "ideas.ipynb", "# Ideas")
    notebook(water / ".ipynb_checkpoints" / "detector-checkpoint.ipynb", "# old")

    folder = homework.submit("first try", now=MONDAY)

    assert folder == water / ".submissions" / "001-20260309T160000Z"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["team"] == "water" and manifest["members"] == ["p01", "p02"]
    assert manifest["submitter"] == "p01" and manifest["message"] == "first try"
    assert manifest["submitted_at"] == "2026-03-09T16:00:00+00:00"
    assert sorted(manifest["files"]) == [
        "detector.html",
        "detector.ipynb",
        "drafts/ideas.html",
        "drafts/ideas.ipynb",
    ]
    assert "Our detector" in (folder / "detector.html").read_text()
    assert homework.verify(folder) == manifest


def test_a_resubmission_adds_a_version_and_keeps_the_old_one(water):
    notebook(water / "detector.ipynb", "# v1")
    first = homework.submit(now=MONDAY)
    notebook(water / "detector.ipynb", "# v2")
    second = homework.submit(now=TUESDAY)
    assert [p.name for p in homework.versions(water / ".submissions")] == [first.name, second.name]
    assert "v1" in (first / "detector.ipynb").read_text()
    assert "v2" in (second / "detector.ipynb").read_text()


def test_bad_submissions_are_refused_and_change_nothing(water, monkeypatch):
    with pytest.raises(InputError, match="no notebooks to submit"):
        homework.submit()
    notebook(water / "detector.ipynb", "# ours")
    with pytest.raises(InputError, match="you are in team 'water'"):
        homework.submit(team="power")
    assert not (water / ".submissions").exists()
    monkeypatch.delenv("ICSLAB_TEAM")
    with pytest.raises(InputError, match="no team here"):
        homework.submit()


def test_collect_takes_each_teams_latest_and_reports_the_rest(water, tmp_path):
    notebook(water / "detector.ipynb", "# v1")
    homework.submit(now=MONDAY)
    notebook(water / "detector.ipynb", "# v2")
    homework.submit("final", now=TUESDAY)
    power = tmp_path / "teams" / "power"  # never submitted
    folders = {"water": water, "power": power}

    folder, archive, problems = homework.collect(folders, tmp_path / "out", now=TUESDAY)

    assert problems == ["team power: no submission yet"]
    assert "v2" in (folder / "water" / "detector.ipynb").read_text()
    index = (folder / "index.html").read_text()
    assert "final" in index and "water/detector.html" in index and "none" in index
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert f"{folder.name}/water/manifest.json" in names
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [folder.name, archive.name]


def test_a_changed_file_in_a_submission_is_reported_not_collected(water, tmp_path):
    notebook(water / "detector.ipynb", "# v1")
    submitted = homework.submit(now=MONDAY)
    (submitted / "detector.html").write_text("tampered")
    folder, _, problems = homework.collect({"water": water}, tmp_path / "out", now=TUESDAY)
    assert problems == [f"{submitted / 'detector.html'}: missing or changed"]
    assert not (folder / "water").exists()
