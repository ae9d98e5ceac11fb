"""Swarm mode's plant reach, without an engine: what is retried when the swarm is slow
to attach the plants' container, and what is not."""

from __future__ import annotations

import pytest
from docker.errors import APIError

from icslab.hub import plant_reach

NETWORK = "lab-plants"
SLOW = "attaching to network failed, make sure your network options are correct and check "
SLOW += "manager logs: context deadline exceeded"
TORN_DOWN = f"network {NETWORK} not found"  # the node's copy, after the last container left


class Swarm:
    """The engine's network list: `networks` are the overlays the swarm holds."""

    def __init__(self, *networks: str):
        self.names = networks

    def networks(self, names: list[str]) -> list[dict]:
        # The engine matches names by substring: the caller must compare them whole.
        return [{"Name": n} for n in self.names if any(part in n for part in names)]


def failing(times: int, message: str):
    calls = []

    def call() -> None:
        calls.append(1)
        if len(calls) <= times:
            raise APIError(message)

    return call, calls


def test_a_slow_attachment_is_tried_again_until_it_is_made():
    call, calls = failing(2, SLOW)
    plant_reach.attached(call, Swarm(NETWORK), NETWORK)
    assert len(calls) == 3


def test_an_overlay_still_in_the_swarm_but_torn_down_on_the_node_is_tried_again():
    call, calls = failing(2, TORN_DOWN)
    plant_reach.attached(call, Swarm(NETWORK), NETWORK)
    assert len(calls) == 3


@pytest.mark.parametrize(
    "swarm",
    [Swarm(), Swarm(f"{NETWORK}-old")],
    ids=["gone from the swarm", "only a longer name is left"],
)
def test_an_overlay_gone_from_the_swarm_is_raised_at_once(swarm):
    call, calls = failing(1, TORN_DOWN)
    with pytest.raises(APIError, match="not found"):
        plant_reach.attached(call, swarm, NETWORK)
    assert len(calls) == 1


OTHERS = ["No such network: lab-net-p01", "network lab-net-p01 not found"]


@pytest.mark.parametrize("message", OTHERS)
def test_any_other_engine_error_is_raised_at_once(message):
    call, calls = failing(1, message)
    with pytest.raises(APIError, match="lab-net-p01"):
        plant_reach.attached(call, Swarm(NETWORK, "lab-net-p01"), NETWORK)
    assert len(calls) == 1


@pytest.mark.parametrize("message", [SLOW, TORN_DOWN])
def test_an_attachment_never_made_gives_up_at_its_deadline_with_the_engines_words(
    monkeypatch, message
):
    monkeypatch.setattr(plant_reach, "ATTACH_SECONDS", 0.3)
    call, calls = failing(10**6, message)
    with pytest.raises(TimeoutError, match=f"attach {NETWORK}.*the engine said: {message}"):
        plant_reach.attached(call, Swarm(NETWORK), NETWORK)
    assert len(calls) > 1
