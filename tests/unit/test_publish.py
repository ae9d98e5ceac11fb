"""An instructor publishes a workshop folder: the notebooks' participant versions and
every other file in the folder arrive; solutions, ignored files and links never do,
and a notebook the manifest forgot stops the publication instead of vanishing."""

import os

import nbformat
import pytest
from dulwich.object_store import tree_lookup_path
from dulwich.repo import Repo

from icslab.errors import InputError
from icslab.material.publish import BRANCH, publish, repository_path, tree_of
from icslab.testing.workshops import manifest, write_module


@pytest.fixture
def workshops(tmp_path):
    """workshops/water-week/ with one notebook, a diagram, a CSV and a helper module."""
    root = tmp_path / "workshops"
    folder = root / "water-week"
    (folder / "data").mkdir(parents=True)
    (folder / "workshop.toml").write_text(manifest())
    write_module(folder / "01-levels.ipynb")
    (folder / "plant.svg").write_text("<svg/>")
    (folder / "data" / "levels.csv").write_text("t,level\n0,4.2\n")
    (folder / "helpers.py").write_text("def mean(xs):\n    return sum(xs) / len(xs)\n")
    return root


def published(data_dir, workshop="water-week") -> dict[str, bytes]:
    repo = Repo(str(repository_path(data_dir, workshop)))
    tree = tree_of(repo, repo.refs[BRANCH])
    return {
        entry.path.decode(): repo[entry.sha].as_raw_string()
        for entry in repo.object_store.iter_tree_contents(tree)
    }


def test_the_whole_folder_is_published_with_the_participant_version_of_each_notebook(
    workshops, tmp_path
):
    done = publish(tmp_path / "data", "water-week", root=workshops)
    files = published(tmp_path / "data")
    assert (
        done.files
        == sorted(files)
        == [
            "01-levels.ipynb",
            "README.md",
            "data/levels.csv",
            "helpers.py",
            "plant.svg",
            "workshop.toml",
        ]
    )
    assert files["data/levels.csv"] == b"t,level\n0,4.2\n"
    assert files["plant.svg"] == b"<svg/>"
    cells = nbformat.reads(files["01-levels.ipynb"].decode(), as_version=4).cells
    assert [cell.source for cell in cells] == ["# Levels", "level = ..."]  # no answer


def test_publishignore_and_the_manifest_leave_files_out(workshops, tmp_path):
    folder = workshops / "water-week"
    (folder / "notes").mkdir()
    (folder / "notes" / "plan.md").write_text("Day 2: show the surprise attack")
    (folder / "drafts").mkdir()
    (folder / "drafts" / "06-maybe.ipynb").write_text("{}")  # an unlisted notebook, ignored
    (folder / "big.tmp").write_text("scratch")
    (folder / ".publishignore").write_text("# mine\nnotes/\n*.tmp\ndrafts/\n*.toml\n")
    (folder / "workshop.toml").write_text(manifest('exclude = ["helpers.py"]\n'))

    publish(tmp_path / "data", "water-week", root=workshops)
    assert sorted(published(tmp_path / "data")) == [
        "01-levels.ipynb",
        "README.md",
        "data/levels.csv",
        "plant.svg",
        "workshop.toml",  # always: participants' servers land on its first notebook
    ]


def test_solution_sources_checkpoints_and_caches_are_never_published(workshops, tmp_path):
    folder = workshops / "water-week"
    for where in ("solutions", ".ipynb_checkpoints", "__pycache__"):
        (folder / where).mkdir()
    (folder / "solutions" / "answers.py").write_text("level = 4.2")
    write_module(folder / "solutions" / "01-levels.ipynb")
    write_module(folder / ".ipynb_checkpoints" / "01-levels-checkpoint.ipynb")
    (folder / "__pycache__" / "helpers.cpython-311.pyc").write_bytes(b"\0")
    # Even an instructor's .publishignore cannot bring them back.
    (folder / ".publishignore").write_text("!solutions/\n!.ipynb_checkpoints/\n")

    publish(tmp_path / "data", "water-week", root=workshops)
    files = published(tmp_path / "data")
    assert not [name for name in files if "solution" in name or "checkpoint" in name]
    assert not [name for name in files if "pycache" in name or name == ".publishignore"]
    assert b"level = 4.2" not in b"".join(files.values())  # the answer, anywhere


def test_a_notebook_the_manifest_does_not_list_stops_the_publication(workshops, tmp_path):
    folder = workshops / "water-week"
    write_module(folder / "02-flows.ipynb", "flow = 1")
    (folder / "extra").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), folder / "extra" / "scratch.IPYNB")

    with pytest.raises(InputError) as refused:
        publish(tmp_path / "data", "water-week", root=workshops)
    problems = refused.value.problems
    assert len(problems) == 2
    for name in ("02-flows.ipynb", "extra/scratch.IPYNB"):
        [problem] = [p for p in problems if name in p]
        assert str(folder / "workshop.toml") in problem and "[[modules]]" in problem
    assert not repository_path(tmp_path / "data", "water-week").exists()  # nothing committed


def test_links_in_the_folder_are_refused_and_what_they_point_to_never_published(
    workshops, tmp_path
):
    secret = tmp_path / "credentials.csv"
    secret.write_text("username,password\np01,hunter2\n")
    folder = workshops / "water-week"
    (folder / "data" / "passwords.csv").symlink_to(secret)
    (folder / "linked").symlink_to(tmp_path, target_is_directory=True)

    with pytest.raises(InputError) as refused:
        publish(tmp_path / "data", "water-week", root=workshops)
    assert sorted(p.split(":")[0] for p in refused.value.problems) == [
        str(folder / "data" / "passwords.csv"),
        str(folder / "linked"),
    ]
    assert all("a symlink" in p for p in refused.value.problems)
    assert not repository_path(tmp_path / "data", "water-week").exists()

    # Left out on purpose, the links are skipped and the rest is published.
    (folder / ".publishignore").write_text("data/passwords.csv\nlinked\n")
    publish(tmp_path / "data", "water-week", root=workshops)
    files = published(tmp_path / "data")
    assert "data/passwords.csv" not in files and not any(n.startswith("linked") for n in files)
    assert not [content for content in files.values() if b"hunter2" in content]


def test_a_readme_of_ones_own_is_refused_rather_than_replaced(workshops, tmp_path):
    (workshops / "water-week" / "README.md").write_text("# My notes")
    with pytest.raises(InputError, match=r"README\.md is generated from .*rename yours"):
        publish(tmp_path / "data", "water-week", root=workshops)


def test_an_unchanged_folder_publishes_nothing_and_a_changed_file_publishes_again(
    workshops, tmp_path
):
    first = publish(tmp_path / "data", "water-week", root=workshops)
    assert publish(tmp_path / "data", "water-week", root=workshops).commit is None
    (workshops / "water-week" / "data" / "levels.csv").write_text("t,level\n0,4.3\n")
    again = publish(tmp_path / "data", "water-week", root=workshops)
    assert again.commit not in (None, first.commit)
    repo = Repo(str(repository_path(tmp_path / "data", "water-week")))
    tree = tree_of(repo, repo.refs[BRANCH])
    _, blob = tree_lookup_path(repo.__getitem__, tree, b"data/levels.csv")
    assert repo[blob].as_raw_string() == b"t,level\n0,4.3\n"


def test_a_fifo_in_the_folder_is_refused_without_blocking(workshops, tmp_path):
    os.mkfifo(workshops / "water-week" / "pipe")
    with pytest.raises(InputError, match=r"pipe: not a regular file"):
        publish(tmp_path / "data", "water-week", root=workshops)
