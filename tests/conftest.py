"""Fixtures shared by the tests that use the real Docker engine (integration,
security, browser). Every container, volume, network and firewall table a
module's lab makes carries that module's own prefix, and only those are removed.
"""

import docker
import pytest

from icslab.hub import firewall
from icslab.hub.docker_env import remove_lab_resources
from icslab.testing import PARTICIPANT_IMAGE, unique_prefix


@pytest.fixture(scope="module")
def engine():
    client = docker.from_env()
    try:
        client.images.get(PARTICIPANT_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{PARTICIPANT_IMAGE} is missing: run `make images` first", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def prefix(engine):
    name = unique_prefix()
    yield name
    remove_lab_resources(name, volumes=True)
    # Everything the lab made carries its prefix, and `docker clean --volumes` removed it all.
    assert not [v.name for v in engine.volumes.list(filters={"name": name})]
    assert firewall.installed(name) is None
