"""Scenarios: a team member hands in the team's notebooks (twice), the lab checks and
keeps them, an instructor collects every team's latest hand-in. The HTTP hop between
the participant's server and the hand-in service is tested against a real lab
(tests/security/test_hand_ins.py); here the service's work is called directly."""

import json
import zipfile
from datetime import UTC, datetime

import nbformat
import pytest

from icslab import homework
from icslab.errors import InputError
from icslab.handin import accept, client
from icslab.handin.store import MAX_VERSIONS, Store, kind_for
from icslab.homework.accept import MAX_MESSAGE, MAX_NOTEBOOKS, accept_homework

MONDAY = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def notebook(path, text, cells=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=cells or [nbformat.v4.new_markdown_cell(text)])
    nbformat.write(nb, path)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "data" / "submissions")


@pytest.fixture
def water(tmp_path, monkeypatch, store):
    """p01's server in team water; its hand-ins reach the service's code as p01."""
    folder = tmp_path / "teams" / "water"
    folder.mkdir(parents=True)
    monkeypatch.setenv("ICSLAB_TEAM", "water")
    monkeypatch.setenv("ICSLAB_TEAM_DIR", str(folder))
    sender = accept.Sender("p01", "water", ("p01", "p02"))
    when = iter([MONDAY, TUESDAY, TUESDAY, TUESDAY])

    def service(path, body, content_type):
        assert path == "homework" and content_type == "application/json"
        return accept_homework(store, sender, body, now=next(when)).receipt()

    monkeypatch.setattr(client, "hand_in", service)
    return folder


def test_a_hand_in_holds_notebooks_html_and_a_checked_manifest(water, store):
    notebook(water / "detector.ipynb", "# Our detector")
    notebook(water / "drafts" / "ideas.ipynb", "# Ideas")
    notebook(water / ".ipynb_checkpoints" / "detector-checkpoint.ipynb", "# old")

    receipt = homework.submit("first try")

    assert receipt["number"] == 1 and receipt["team"] == "water"
    entry = store.latest("water", kind_for())
    assert entry.folder == store.root / "water" / "homework" / "001"
    manifest = entry.manifest
    assert manifest["team"] == "water" and manifest["members"] == ["p01", "p02"]
    assert manifest["submitter"] == "p01" and manifest["message"] == "first try"
    assert manifest["submitted_at"] == "2026-03-09T16:00:00+00:00"
    assert (
        sorted(manifest["files"])
        == receipt["files"]
        == [
            "detector.html",
            "detector.ipynb",
            "drafts/ideas.html",
            "drafts/ideas.ipynb",
        ]
    )
    assert "Our detector" in (entry.folder / "detector.html").read_text()
    assert oct(store.root.stat().st_mode & 0o777) == "0o700"


def test_a_new_version_keeps_the_old_one_and_the_same_work_adds_nothing(water, store):
    notebook(water / "detector.ipynb", "# v1")
    first = homework.submit()
    assert homework.submit()["number"] == first["number"] == 1  # nothing changed
    notebook(water / "detector.ipynb", "# v2")
    second = homework.submit()
    assert second["number"] == 2
    folders = store.versions("water", kind_for())
    assert "v1" in (folders[0] / "detector.ipynb").read_text()
    assert "v2" in (folders[1] / "detector.ipynb").read_text()


def test_scripts_in_a_notebook_never_reach_the_collected_html(water, store):
    script = "<script>fetch('/hub/api/users')</script><img src=x onerror=alert(1)>"
    notebook(water / "evil.ipynb", "", [nbformat.v4.new_markdown_cell(script)])
    homework.submit()
    html = (store.latest("water", kind_for()).folder / "evil.html").read_text()
    assert "<script>fetch(" not in html and "<img src=x onerror" not in html  # inert text
    assert "&lt;script&gt;fetch(" in html


def test_bad_hand_ins_are_refused_and_change_nothing(water, store, monkeypatch):
    with pytest.raises(InputError, match="no notebooks to submit"):
        homework.submit()
    notebook(water / "detector.ipynb", "# ours")
    with pytest.raises(InputError, match="you are in team 'water'"):
        homework.submit(team="power")
    (water / "broken.ipynb").write_text("SECRET-MARKER {")
    with pytest.raises(InputError, match=r"broken\.ipynb: not a notebook") as error:
        homework.submit()
    assert "SECRET-MARKER" not in str(error.value)
    assert not store.root.exists()
    monkeypatch.delenv("ICSLAB_TEAM")
    with pytest.raises(InputError, match="no team here"):
        homework.submit()


@pytest.mark.parametrize(
    ("notebooks", "reason"),
    [
        ({}, "1 to 100 notebooks"),
        ({"x.txt": {}}, "x.txt: not a notebook"),
        ({"../up.ipynb": {}}, "without a leading dot"),
        ({"/etc/x.ipynb": {}}, "not a file name inside"),
        ({"a.ipynb": {"cells": "SECRET-MARKER"}}, "a.ipynb: not a notebook JupyterLab can open"),
        ({"a.ipynb": {}, "manifest.json": {}}, "manifest.json"),
    ],
)
def test_the_service_refuses_what_is_not_a_teams_notebooks(store, notebooks, reason):
    body = json.dumps({"message": "", "notebooks": notebooks}).encode()
    with pytest.raises(InputError, match=reason) as error:
        accept_homework(store, accept.Sender("p01", "water", ("p01",)), body)
    assert "SECRET-MARKER" not in str(error.value)
    assert store.teams() == []


def test_the_service_takes_as_many_notebooks_and_as_long_a_message_as_allowed_and_no_more(
    store,
):
    sender = accept.Sender("p01", "water", ("p01",))
    empty = json.loads(nbformat.writes(nbformat.v4.new_notebook()))

    def hand_in(count, message):
        notebooks = {f"n{number:03}.ipynb": empty for number in range(count)}
        body = json.dumps({"message": message, "notebooks": notebooks}).encode()
        return accept_homework(store, sender, body)

    with pytest.raises(InputError, match=f"1 to {MAX_NOTEBOOKS} notebooks"):
        hand_in(MAX_NOTEBOOKS + 1, "")
    with pytest.raises(InputError, match=f"at most {MAX_MESSAGE} characters"):
        hand_in(1, "m" * (MAX_MESSAGE + 1))
    assert store.teams() == []  # nothing kept of either

    entry = hand_in(MAX_NOTEBOOKS, "m" * MAX_MESSAGE)

    assert len(list(entry.folder.glob("n*.ipynb"))) == MAX_NOTEBOOKS
    assert entry.manifest["message"] == "m" * MAX_MESSAGE


def test_a_team_hands_in_a_bounded_number_of_versions(store):
    sender = accept.Sender("p01", "water", ("p01",))
    for number in range(MAX_VERSIONS):
        entry = store.add("water", kind_for(), {"a.txt": str(number).encode()}, {})
        assert entry.number == number + 1
    with pytest.raises(InputError, match=f"{MAX_VERSIONS} versions"):
        store.add("water", kind_for(), {"a.txt": b"one more"}, {})
    nb = nbformat.writes(nbformat.v4.new_notebook())
    with pytest.raises(InputError, match="ask an instructor"):
        accept_homework(
            store, sender, json.dumps({"notebooks": {"n.ipynb": json.loads(nb)}}).encode()
        )


def test_collect_takes_each_teams_latest_and_reports_the_rest(water, store, tmp_path):
    notebook(water / "detector.ipynb", "# v1")
    homework.submit()
    notebook(water / "detector.ipynb", "# v2")
    homework.submit("final")

    folder, archive, problems = homework.collect(
        store, ["water", "power"], tmp_path / "out", now=TUESDAY, renderer=None
    )

    assert problems == ["team power: no submission yet"]
    assert "v2" in (folder / "water" / "detector.ipynb").read_text()
    index = (folder / "index.html").read_text()
    assert "final" in index and "water/detector.html" in index and "none" in index
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert f"{folder.name}/water/manifest.json" in names
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [folder.name, archive.name]


def test_a_changed_file_in_the_store_is_reported_not_collected(water, store, tmp_path):
    notebook(water / "detector.ipynb", "# v1")
    homework.submit()
    entry = store.latest("water", kind_for())
    (entry.folder / "detector.html").write_text("tampered")
    folder, _, problems = homework.collect(
        store, ["water"], tmp_path / "out", now=TUESDAY, renderer=None
    )
    assert problems == [f"{entry.folder / 'detector.html'}: missing or changed"]
    assert not (folder / "water").exists()


def test_outside_a_lab_hand_ins_say_where_to_run_them(monkeypatch):
    monkeypatch.delenv(client.SUBMIT_URL_ENV, raising=False)
    with pytest.raises(InputError, match="not in a lab"):
        client.hand_in("homework", b"{}", "application/json")
