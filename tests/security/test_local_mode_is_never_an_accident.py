"""Local mode runs every participant's code as the hub's user (root here): it can
read the credentials sheet, the cookie secret and the answers. A lab that serves
a room must never end up in it because the Docker engine happened to be down."""

import pytest
from typer.testing import CliRunner

from icslab.cli import app
from icslab.testing import write_roster, write_settings

ROOM = {"public_url": "https://lab.test:18443", "http_port": 18080}
ROSTER = [("trainer1", "", "instructor"), ("p01", "water", "participant")]


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")


def up(tmp_path, **hub):
    write_roster(tmp_path / "roster.csv", ROSTER)
    write_settings(tmp_path / "workshop.toml", hub=hub, tls={"mode": "lab-ca"})
    config, data = str(tmp_path / "workshop.toml"), str(tmp_path / "data")
    return CliRunner().invoke(app, ["up", "--config", config, "--data-dir", data])


def test_a_room_with_the_engine_down_does_not_fall_back_to_local_mode(no_engine, tmp_path):
    result = up(tmp_path, spawner="auto", **ROOM)
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "the Docker engine does not answer: start it" in output
    assert "never falls back to local mode" in output
    assert not (tmp_path / "data" / "credentials.csv").exists()  # nothing started
