"""Spawners return once the server listens: the hub's first check then succeeds."""

from __future__ import annotations

import asyncio
import socket
import time

from icslab.hub.spawners import wait_until_listening


class FakeSpawner:
    port_poll_interval = 0.02
    start_timeout = 10

    def __init__(self, exit_status=None):
        self.exit_status = exit_status
        self.polls = 0

    async def poll(self):
        self.polls += 1
        return self.exit_status


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_returns_as_soon_as_the_server_listens():
    port = free_port()

    async def scenario():
        server = None

        async def listen_later():
            nonlocal server
            await asyncio.sleep(0.3)  # the server's start-up, simulated
            server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)

        opening = asyncio.create_task(listen_later())
        began = time.monotonic()
        await wait_until_listening(FakeSpawner(), "127.0.0.1", port)
        waited = time.monotonic() - began
        await opening
        server.close()
        return waited

    waited = asyncio.run(scenario())
    assert 0.3 <= waited < 5  # soon after it listens, long before the 10 s start_timeout


def test_returns_when_the_server_exited_instead_of_waiting_for_the_timeout():
    spawner = FakeSpawner(exit_status=1)
    began = time.monotonic()
    asyncio.run(wait_until_listening(spawner, "127.0.0.1", free_port()))
    assert time.monotonic() - began < 5 and spawner.polls == 1  # not the 10 s timeout
