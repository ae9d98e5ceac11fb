"""Swarm mode's plant reach, without an engine: what is retried when the swarm is slow
to attach the plants' container, and what is not."""

from __future__ import annotations

import pytest
from docker.errors import APIError

from icslab.hub import plant_reach

SLOW = "attaching to network failed, make sure your network options are correct and check "
SLOW += "manager logs: context deadline exceeded"


def failing(times: int, message: str):
    calls = []

    def call() -> None:
        calls.append(1)
        if len(calls) <= times:
            raise APIError(message)

    return call, calls


def test_a_slow_attachment_is_tried_again_until_it_is_made():
    call, calls = failing(2, SLOW)
    plant_reach.attached(call)
    assert len(calls) == 3


def test_any_other_engine_error_is_raised_at_once():
    call, calls = failing(1, "No such network: lab-net-p01")
    with pytest.raises(APIError, match="No such network"):
        plant_reach.attached(call)
    assert len(calls) == 1


def test_an_attachment_never_made_gives_up_at_its_deadline(monkeypatch):
    monkeypatch.setattr(plant_reach, "ATTACH_SECONDS", 0.3)
    call, calls = failing(10**6, SLOW)
    with pytest.raises(TimeoutError, match="attach the plants' container"):
        plant_reach.attached(call)
    assert len(calls) > 1
