"""Local mode runs every participant's code as the hub's user (root here): it can
read the credentials sheet, the cookie secret and the answers. A lab that serves
a room must never end up in it because the Docker engine happened to be down."""

import os

import pytest
from typer.testing import CliRunner

from icslab.cli import app
from icslab.hub.launch import resolve_spawner
from icslab.settings import load_settings
from icslab.testing import write_roster, write_settings

ROOM = {"public_url": "https://lab.test:18443", "http_port": 18080}
ROSTER = [("trainer1", "", "instructor"), ("p01", "water", "participant")]


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")


def up(tmp_path, **hub):
    write_roster(tmp_path / "roster.csv", ROSTER)
    write_settings(tmp_path / "lab.toml", hub=hub, tls={"mode": "lab-ca"})
    config, data = str(tmp_path / "lab.toml"), str(tmp_path / "data")
    return CliRunner().invoke(app, ["up", "--config", config, "--data-dir", data])


def test_a_room_with_the_engine_down_does_not_fall_back_to_local_mode(no_engine, tmp_path):
    result = up(tmp_path, spawner="auto", **ROOM)
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "the Docker engine does not answer: start it" in output
    assert "never falls back to local mode" in output
    assert not (tmp_path / "data" / "credentials.csv").exists()  # nothing started


@pytest.mark.skipif(
    os.geteuid() != 0 and not os.environ.get("CI"), reason="the rule is about running as root"
)
def test_local_mode_as_root_on_a_room_address_needs_a_deliberate_setting(tmp_path):
    result = up(tmp_path, spawner="local", **ROOM)
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "every participant's code would run as root" in output
    assert "hub.local_mode_as_root = true" in output
    assert not (tmp_path / "data" / "credentials.csv").exists()  # nothing started
    # Said in the settings, it is a choice, not an accident (demos, tests).
    demo = load_settings(
        write_settings(
            tmp_path / "demo.toml", hub={**ROOM, "local_mode_as_root": True}, tls={"mode": "lab-ca"}
        )
    )
    assert resolve_spawner("local", demo) == "local"
    trial = load_settings(write_settings(tmp_path / "trial.toml"))  # loopback: no question
    assert resolve_spawner("local", trial) == "local"
