"""A network named like the lab's but made by hand (or by an older setting) must
not be reused as it is: with inter-container traffic on, one participant's
container could reach another's server."""

import os

import pytest

from icslab.errors import InputError
from icslab.hub.docker_env import NO_ICC, engine_answers, ensure_network, network_name
from icslab.testing import PARTICIPANT_IMAGE, unique_prefix

pytestmark = pytest.mark.skipif(
    not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
)


@pytest.fixture
def own_prefix(engine):
    """A prefix of this test's own; removes only its network and container."""
    name = unique_prefix()
    yield name
    for container in engine.containers.list(all=True, filters={"name": f"{name}-"}):
        container.remove(force=True)
    for network in engine.networks.list(names=[network_name(name)]):
        network.remove()


def test_an_idle_network_with_inter_container_traffic_on_is_made_again(engine, own_prefix):
    engine.networks.create(network_name(own_prefix), driver="bridge", internal=True)

    made = ensure_network(engine, own_prefix, egress=False)

    options = engine.networks.get(made.name).attrs["Options"]
    assert all(options.get(key) == value for key, value in NO_ICC.items())


def test_a_wrong_network_in_use_is_refused_and_left_alone(engine, own_prefix):
    wrong = engine.networks.create(network_name(own_prefix), driver="bridge", internal=True)
    engine.containers.run(
        PARTICIPANT_IMAGE, ["sleep", "300"], name=f"{own_prefix}-p01", network=wrong.name,
        detach=True,
    )  # fmt: skip

    with pytest.raises(InputError, match="not as the lab makes it"):
        ensure_network(engine, own_prefix, egress=False)

    wrong.reload()
    assert wrong.attrs["Containers"]  # still there, untouched
