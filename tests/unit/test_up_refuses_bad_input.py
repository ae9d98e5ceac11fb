"""`icslab up` checks everything before it starts or changes anything."""

import os
import socket

import pytest
from typer.testing import CliRunner

from icslab.cli import app
from icslab.hub.accounts import sync_accounts
from icslab.hub.launch import lock_data_dir
from icslab.lab import LabPaths
from icslab.testing import write_roster, write_settings

GOOD_ROSTER = [("trainer1", "", "instructor"), ("p01", "water", "participant")]


@pytest.fixture
def lab_settings(tmp_path):
    write_roster(tmp_path / "roster.csv", GOOD_ROSTER)
    return write_settings(tmp_path / "lab.toml", data={"datasets": "datasets"})


@pytest.fixture
def existing_lab(tmp_path):
    """A data dir that already holds a lab's accounts."""
    paths = LabPaths(tmp_path / "data")
    sync_accounts(paths, ["trainer1", "p01"])
    return paths


def snapshot(folder):
    return {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def up(*args):
    return CliRunner().invoke(app, ["up", *args])


def test_every_problem_in_settings_and_roster_is_listed_and_nothing_changes(tmp_path, existing_lab):
    (tmp_path / "lab.toml").write_text('[workshop]\ntitle = ""\n[hub]\nport = 0\n')
    (tmp_path / "roster.csv").write_text(
        "username,team,role\np01,water,participant\np01,water,participant\nx y,,boss\n"
    )
    before = snapshot(existing_lab.data_dir)

    result = up(
        "--config", str(tmp_path / "lab.toml"),
        "--roster", str(tmp_path / "roster.csv"),
        "--data-dir", str(existing_lab.data_dir),
    )  # fmt: skip

    assert result.exit_code == 2
    output = result.output
    assert "lab.toml:2: workshop.title" in output
    assert "lab.toml:4: hub.port" in output
    assert "roster.csv:3: duplicate username 'p01' (first on line 2)" in output
    assert "roster.csv:4: invalid username 'x y'" in output
    assert "roster.csv:4: unknown role 'boss'" in output
    assert snapshot(existing_lab.data_dir) == before


def test_a_roster_without_a_column_is_refused(tmp_path, lab_settings, existing_lab):
    (tmp_path / "roster.csv").write_text("username,role\np01,participant\n")
    before = snapshot(existing_lab.data_dir)
    result = up("--config", str(lab_settings), "--data-dir", str(existing_lab.data_dir))
    assert result.exit_code == 2
    assert "missing: team" in result.output
    assert snapshot(existing_lab.data_dir) == before


def test_a_port_in_use_is_named(lab_settings, existing_lab):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = snapshot(existing_lab.data_dir)
        result = up("--config", str(lab_settings), "--data-dir", str(existing_lab.data_dir),
                    "--port", str(port))  # fmt: skip
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.output
    assert snapshot(existing_lab.data_dir) == before


def test_a_data_dir_that_cannot_be_written_is_named(tmp_path, lab_settings):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data dir should go")
    result = up("--config", str(lab_settings), "--data-dir", str(blocker / "data"))
    assert result.exit_code == 2
    assert f"data dir {blocker / 'data'} is not writable" in " ".join(result.output.split())


def test_one_lab_per_data_dir(lab_settings, existing_lab):
    lock = lock_data_dir(existing_lab)  # as a running hub holds it
    try:
        result = up("--config", str(lab_settings), "--data-dir", str(existing_lab.data_dir))
    finally:
        os.close(lock)
    assert result.exit_code == 2
    assert "a lab is already running from" in result.output


def test_docker_mode_without_an_engine_says_how_to_start_one(lab_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = up(
        "--config", str(lab_settings), "--data-dir", str(tmp_path / "d"), "--spawner", "docker"
    )
    assert result.exit_code == 2
    assert "the Docker engine does not answer" in result.output
    assert "use --spawner local" in result.output
    assert not (tmp_path / "d").exists()
    result = up("--config", str(lab_settings), "--spawner", "kubernetes")
    assert result.exit_code == 2 and "use auto, local or docker" in result.output


def test_auto_picks_local_for_a_trial_when_no_engine_answers(monkeypatch, tmp_path):
    from icslab.hub.launch import resolve_spawner
    from icslab.settings import LabSettings

    trial = LabSettings.model_validate({"workshop": {"title": "x"}})
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert resolve_spawner("auto", trial) == "local"
    assert resolve_spawner("docker", trial) == "docker"


def test_check_validates_without_starting(lab_settings):
    result = CliRunner().invoke(app, ["check", "--config", str(lab_settings)])
    assert result.exit_code == 0, result.output
    assert "2 users in 1 teams" in result.output


def test_a_workshop_that_cannot_be_published_stops_up_before_anything_changes(
    tmp_path, existing_lab
):
    write_roster(tmp_path / "roster.csv", GOOD_ROSTER)
    settings = write_settings(
        tmp_path / "lab.toml",
        data={"datasets": "datasets"},
        material={"publish": ["ics-week", "no-such-week", "nor-this"]},
    )
    before = snapshot(existing_lab.data_dir)
    result = up("--config", str(settings), "--data-dir", str(existing_lab.data_dir))
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "'no-such-week': no such workshop" in output and "'nor-this'" in output
    assert snapshot(existing_lab.data_dir) == before  # not even ics-week was published

    checked = CliRunner().invoke(app, ["check", "--config", str(settings)])
    assert checked.exit_code == 1
    assert "material.publish: 'no-such-week': no such workshop" in " ".join(checked.output.split())
