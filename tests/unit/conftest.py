from pathlib import Path

import pytest

from icslab.data import load_plant
from icslab.lab import Lab
from icslab.roster import Member
from icslab.settings import LabSettings

MEMBERS = [
    Member("trainer1", "", "instructor"),
    Member("p01", "water", "participant"),
    Member("p02", "water", "participant"),
    Member("p03", "power", "participant"),
]


def build_lab(tmp_path: Path, spawner: str = "local", **sections) -> Lab:
    settings = LabSettings.model_validate({"workshop": {"title": "Water week"}, **sections})
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "cli_token").write_text("cli-token-for-tests\n")
    docker = {"docker_network": "icslab-net", "docker_gateway": "172.18.0.1"}
    return Lab(
        settings=settings,
        config_file=tmp_path / "lab.toml",
        data_dir=tmp_path / "data",
        members=MEMBERS,
        spawner=spawner,
        public_url=settings.hub.public_url,
        proxy_port=8123 if settings.tls_on else settings.hub.public_port,
        http_port=settings.hub.http_port if settings.tls_on else None,
        ask_port=8128 if settings.tls.mode == "acme" else 0,
        hub_api_port=8124,
        proxy_api_port=8125,
        git_port=8126,
        live_port=8127,
        submit_port=8129,
        room_port=8130,
        datasets_dir=tmp_path / "datasets",
        proxy_command=["/opt/chp"],
        **(docker if spawner == "docker" else {}),
    )


@pytest.fixture
def make_lab(tmp_path):
    """make_lab(culler={...}) -> a Lab in tmp_path with those settings sections."""
    return lambda spawner="local", **sections: build_lab(tmp_path, spawner, **sections)


@pytest.fixture
def lab(tmp_path) -> Lab:
    return build_lab(tmp_path)


# The datasets the notebooks' tests run on: 6 h of normal operation, 8 h with attacks.
@pytest.fixture(scope="module")
def train():
    return load_plant("sample-train")


@pytest.fixture(scope="module")
def test():
    return load_plant("sample")
