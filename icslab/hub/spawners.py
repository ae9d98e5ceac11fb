"""The embedded local spawner: one JupyterLab process per participant.

No isolation between participants: for trying the lab and for tests. The
Docker spawner is for real training weeks.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Bool, Float

from icslab.hub import zygote


class LocalSpawner(SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner that forks servers from a preloaded process and
    returns only once the server listens.

    - `preload`: servers are forks of a zygote that imported JupyterLab and
      jupyter_server once (icslab.hub.zygote), which saves ~1.5 s per start.
    - The hub checks a new server with exponential backoff (up to 5 s between
      tries, not configurable), so a server ready after 0.3 s is often noticed
      seconds later. Watching the port here, every few milliseconds, lets the
      hub's first check succeed.
    """

    port_poll_interval = Float(
        0.02, config=True, help="Seconds between checks that a starting server listens."
    )
    preload = Bool(
        True,
        config=True,
        help="Fork servers from a process that imported JupyterLab once (faster starts). "
        "Off: run the spawner's cmd in a new process, as JupyterHub does.",
    )

    async def start(self):
        if self.preload:
            ip, port = await self._fork_from_zygote()
        else:
            ip, port = await super().start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and await self.poll() is None:
            if await asyncio.to_thread(_listening, ip, port):
                break
            await asyncio.sleep(self.port_poll_interval)
        # Exited or too slow: return anyway and let the hub report it as usual.
        return ip, port

    async def _fork_from_zygote(self) -> tuple[str, int]:
        if self.port == 0:
            from jupyterhub.utils import random_port

            self.port = random_port()
        argv = [*self.cmd, *self.get_args()]
        self.log.info("Forking a preloaded server: %s", " ".join(shlex.quote(a) for a in argv))
        path = await _Zygote.ensure(self.log)
        self.pid = await asyncio.to_thread(
            zygote.request_server, path, argv, self.get_env(), self.home_dir
        )
        self.proc = None  # not our child: poll and stop go by pid (the zygote reaps it)
        return self.ip or "127.0.0.1", self.port


class _Zygote:
    """The hub's one zygote process, started with the first server."""

    process: subprocess.Popen | None = None
    path: str | None = None
    lock = asyncio.Lock()

    @classmethod
    async def ensure(cls, log) -> str:
        async with cls.lock:
            if cls.process is None or cls.process.poll() is not None:
                folder = tempfile.mkdtemp(prefix="icslab-zygote-")
                cls.path = os.path.join(folder, "socket")
                # A bare environment: each server gets its own from the spawner, and a
                # fork's /proc/PID/environ shows the zygote's, so it must hold nothing.
                bare = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ")}
                cls.process = subprocess.Popen(
                    [sys.executable, "-m", "icslab.hub.zygote", cls.path], env=bare
                )
                log.info("Started the server zygote (pid %s)", cls.process.pid)
                deadline = time.monotonic() + 60
                while not Path(cls.path).exists():
                    if cls.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the server zygote did not start; see the log")
                    await asyncio.sleep(0.02)
            return cls.path


def _listening(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((ip, port)) == 0
