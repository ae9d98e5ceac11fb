"""The embedded local spawner: one JupyterLab process per participant.

No isolation between participants: for trying the lab and for tests. The
Docker spawner is for real training weeks.
"""

from __future__ import annotations

import asyncio
import socket
import time

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Float


class LocalSpawner(SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner that returns only once the server listens.

    The hub checks a new server with exponential backoff (up to 5 s between
    tries, not configurable), so a server ready after 1.4 s is often noticed
    seconds later. Watching the port here, every few milliseconds, lets the
    hub's first check succeed.
    """

    port_poll_interval = Float(
        0.02, config=True, help="Seconds between checks that a starting server listens."
    )

    async def start(self):
        ip, port = await super().start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if await asyncio.to_thread(_listening, ip, port):
                break
            await asyncio.sleep(self.port_poll_interval)
        # Exited or too slow: return anyway and let the hub report it as usual.
        return ip, port


def _listening(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((ip, port)) == 0
