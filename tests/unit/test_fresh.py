"""A participant who broke a handed-out notebook gets the published one back and keeps
theirs beside it: `icslab material fresh` / `icslab.material.fresh`, in a workshop
their server pulled from the lab's git service (here a file:// one)."""

import subprocess
from datetime import datetime

import nbformat
import pytest

from icslab.errors import InputError
from icslab.material import fresh
from icslab.material.publish import publish
from icslab.testing.workshops import write_workshop


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A published water-week, pulled into a participant's folder as nbgitpuller does."""
    source = write_workshop(tmp_path / "workshops")
    (source / "data").mkdir()
    (source / "data" / "levels.csv").write_text("t,level\n0,4.2\n")
    publish(tmp_path / "data", "water-week", root=tmp_path / "workshops")
    service = f"file://{tmp_path / 'data' / 'git'}"
    monkeypatch.setenv("ICSLAB_GIT_URL", service)
    home = tmp_path / "home"
    home.mkdir()
    git = ["git", "clone", "--quiet", "--branch", "main"]
    subprocess.run([*git, f"{service}/water-week.git", str(home / "water-week")], check=True)
    monkeypatch.chdir(home)
    return home


def break_notebook(path, text="my answer, then a mess"):
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [nbformat.v4.new_code_cell(text)]
    nbformat.write(notebook, path)


def sources(path):
    return [cell.source for cell in nbformat.read(path, as_version=4).cells]


def test_a_broken_notebook_comes_back_published_and_theirs_is_kept(lab):
    notebook = lab / "water-week" / "01-levels.ipynb"
    break_notebook(notebook)

    done = fresh("water-week/01-levels.ipynb")
    assert sources(notebook) == ["# Levels", "level = ..."]  # the published version, no solution
    assert done.path == notebook
    assert done.kept.parent == notebook.parent
    assert done.kept.name.startswith("01-levels__") and done.kept.suffix == ".ipynb"
    assert sources(done.kept) == ["my answer, then a mess"]
    assert "close its tab without saving" in repr(done)


def test_two_calls_in_the_same_second_keep_both_versions(lab, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 6, 9, 30, 0)

    monkeypatch.setattr("icslab.material.fresh_copy.datetime", Frozen)
    notebook = lab / "water-week" / "01-levels.ipynb"
    break_notebook(notebook, "first try")
    first = fresh(notebook)
    break_notebook(notebook, "second try")
    second = fresh(notebook)
    assert (first.kept.name, second.kept.name) == (
        "01-levels__20261206093000.ipynb",
        "01-levels__20261206093000-2.ipynb",
    )
    assert sources(first.kept) == ["first try"] and sources(second.kept) == ["second try"]


def test_a_deleted_file_simply_comes_back(lab):
    (lab / "water-week" / "data" / "levels.csv").unlink()
    done = fresh("water-week/data/levels.csv")
    assert done.kept is None
    assert (lab / "water-week" / "data" / "levels.csv").read_text() == "t,level\n0,4.2\n"


def test_a_folder_comes_back_whole_and_theirs_is_kept_whole(lab):
    data = lab / "water-week" / "data"
    (data / "levels.csv").write_text("mine")
    (data / "my-notes.txt").write_text("keep me")

    done = fresh("water-week/data")
    assert sorted(p.name for p in data.iterdir()) == ["levels.csv"]
    assert (data / "levels.csv").read_text() == "t,level\n0,4.2\n"
    assert (done.kept / "levels.csv").read_text() == "mine"
    assert (done.kept / "my-notes.txt").read_text() == "keep me"
    assert not list((lab / "water-week").glob(".fresh-*"))  # nothing staged is left over


def test_the_whole_workshop_is_cloned_afresh_and_theirs_kept(lab):
    workshop = lab / "water-week"
    break_notebook(workshop / "01-levels.ipynb")
    (workshop / "scratch.py").write_text("print('mine')")

    done = fresh("water-week")
    assert sources(workshop / "01-levels.ipynb") == ["# Levels", "level = ..."]
    assert not (workshop / "scratch.py").exists()
    assert (done.kept / "scratch.py").read_text() == "print('mine')"
    assert sources(done.kept / "01-levels.ipynb") == ["my answer, then a mess"]
    again = fresh(workshop / "01-levels.ipynb")  # still a workshop of the lab
    assert again.path == workshop / "01-levels.ipynb"


def test_what_has_no_published_version_is_refused_and_left_alone(lab, tmp_path):
    (lab / "water-week" / "notes.ipynb").write_text("{}")
    with pytest.raises(InputError, match=r"it is yours.*Published in water-week/: "):
        fresh("water-week/notes.ipynb")
    assert (lab / "water-week" / "notes.ipynb").read_text() == "{}"
    with pytest.raises(InputError, match="there is no such file"):
        fresh("water-week/99-nothing.ipynb")
    (lab / "outside.ipynb").write_text("{}")
    with pytest.raises(InputError, match="not inside a workshop pulled from the lab"):
        fresh("outside.ipynb")
    with pytest.raises(InputError, match="not inside a workshop pulled from the lab"):
        fresh("../../etc/passwd")
    with pytest.raises(InputError, match="git's own files"):
        fresh("water-week/.git/config")
    assert sorted(p.name for p in lab.iterdir()) == ["outside.ipynb", "water-week"]


def test_a_clone_of_anything_else_is_not_a_workshop_of_the_lab(lab, tmp_path):
    other = tmp_path / "elsewhere.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(other)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(other), str(lab / "mine")], check=True)
    (lab / "mine" / "a.txt").write_text("a")
    with pytest.raises(InputError, match="not inside a workshop pulled from the lab"):
        fresh("mine/a.txt")


def test_outside_a_participants_server_it_says_where_to_run_it(lab, monkeypatch):
    monkeypatch.delenv("ICSLAB_GIT_URL")
    with pytest.raises(InputError, match=r"run this in your JupyterLab"):
        fresh("water-week/01-levels.ipynb")
