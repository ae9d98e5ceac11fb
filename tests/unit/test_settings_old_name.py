"""The lab's settings file was `hub_config/workshop.toml` before it was `lab.toml`: for
one release the old name is still read, with a note saying how to rename it."""

import logging
import subprocess
import sys

import pytest

from icslab.errors import InputError
from icslab.settings import load_settings


@pytest.fixture
def folder(tmp_path):
    """hub_config/, as `icslab up` finds it by default; empty."""
    path = tmp_path / "hub_config"
    path.mkdir()
    return path


def write(path, title: str):
    path.write_text(f'[workshop]\ntitle = "{title}"\n', encoding="utf-8")
    return path


def read(path, caplog):
    """The settings read for `--config path`, and the notes said while reading them."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="icslab.settings"):
        settings = load_settings(path)
    return settings, [r.getMessage() for r in caplog.records if r.name == "icslab.settings"]


def test_the_old_name_alone_is_read_and_the_note_says_how_to_rename_it(folder, caplog):
    old, new = write(folder / "workshop.toml", "Old name"), folder / "lab.toml"
    settings, notes = read(new, caplog)
    assert settings.workshop.title == "Old name"
    (note,) = notes
    assert "\n" not in note
    assert f"the lab's settings file {old} is now {new}" in note
    assert f"mv {old} {new}" in note
    assert "stops working in the next release" in note


def test_the_new_name_is_read_without_a_note(folder, caplog):
    settings, notes = read(write(folder / "lab.toml", "New name"), caplog)
    assert settings.workshop.title == "New name" and notes == []


def test_with_both_the_new_one_wins_and_the_old_one_is_said_to_be_ignored(folder, caplog):
    old = write(folder / "workshop.toml", "Old name")
    settings, notes = read(write(folder / "lab.toml", "New name"), caplog)
    assert settings.workshop.title == "New name"
    (note,) = notes
    assert f"{old} is ignored" in note and f"now {folder / 'lab.toml'}, which is read" in note


def test_with_neither_the_error_names_lab_toml(folder, caplog):
    with pytest.raises(InputError) as caught:
        read(folder / "lab.toml", caplog)
    assert caught.value.problems == [
        f"{folder / 'lab.toml'}: settings file not found (pass --config PATH)"
    ]
    assert caplog.records == []


def test_mistakes_in_the_old_file_are_named_in_it(folder, caplog):
    (folder / "workshop.toml").write_text('[workshop]\ntitle = "x"\n[hub]\nhttp_port = 0\n')
    with pytest.raises(InputError) as caught:
        read(folder / "lab.toml", caplog)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{folder / 'workshop.toml'}:4: hub.http_port = 0: ")


def test_an_old_file_named_outright_is_read_without_a_note(folder, caplog):
    settings, notes = read(write(folder / "workshop.toml", "Old name"), caplog)
    assert settings.workshop.title == "Old name" and notes == []


def test_only_lab_toml_falls_back(folder, caplog):
    """--config site.toml that is not there is a typo, not the old name."""
    write(folder / "workshop.toml", "Old name")
    with pytest.raises(InputError) as caught:
        read(folder / "site.toml", caplog)
    assert caught.value.problems == [
        f"{folder / 'site.toml'}: settings file not found (pass --config PATH)"
    ]


def test_a_service_that_names_the_old_file_is_told_the_new_one(folder, caplog):
    """A unit `icslab service install` wrote before the rename has --config .../workshop.toml."""
    write(folder / "lab.toml", "New name")
    with pytest.raises(InputError) as caught:
        read(folder / "workshop.toml", caplog)
    (problem,) = caught.value.problems
    assert f"it is now {folder / 'lab.toml'}; pass --config {folder / 'lab.toml'}" in problem
    assert "icslab service install" in problem


def test_the_note_is_one_line_on_stderr(folder):
    """No logging is configured where `icslab` runs: Python prints the bare message."""
    write(folder / "workshop.toml", "Old name")
    code = "from pathlib import Path; from icslab.settings import load_settings as load; "
    code += "print(load(Path('hub_config/lab.toml')).workshop.title)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=folder.parent, capture_output=True, text=True, check=True
    )
    assert done.stdout == "Old name\n"
    assert done.stderr.startswith(
        "Deprecated: the lab's settings file hub_config/workshop.toml is now hub_config/lab.toml."
    )
    assert done.stderr.count("\n") == 1
