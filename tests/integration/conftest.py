import pytest

from icslab.testing import RunningLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real local-mode lab for this module (the example roster); the Docker tests
    bring their own."""
    with RunningLab(tmp_path_factory.mktemp("lab")) as running:
        yield running
