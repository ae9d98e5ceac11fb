"""The lab's spawners: JupyterHub's, returning only once the server listens.

The hub checks a new server with exponential backoff (up to 5 s between tries,
not configurable), so a server that listens after 1.5 s is often noticed a
second or more later. Watching the port from start(), every few milliseconds,
lets the hub's first check succeed.

- LocalSpawner: one JupyterLab process per participant, no isolation between
  them: for trying the lab and for tests.
- DockerSpawner: one container per participant, for real training weeks.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker.errors
import dockerspawner
from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Bool, Float, Unicode, default
from traitlets.config import Configurable

from icslab.hub import zygote
from icslab.hub.teams import SHARED_PLANT, plant_network
from icslab.lab import record_plant_server


class ProbesListening(Configurable):
    """What wait_until_listening needs of a spawner, for each of the lab's spawners."""

    port_poll_interval = Float(
        0.05, config=True, help="Seconds between checks that a starting server listens."
    )


class LocalSpawner(ProbesListening, SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner that forks servers from a preloaded process
    (`preload`: a zygote that imported JupyterLab and jupyter_server once, see
    icslab.hub.zygote, which saves ~1.5 s per start) and returns only once the
    server listens."""

    @default("port_poll_interval")
    def _processes_start_fast(self) -> float:
        return 0.02

    preload = Bool(
        True,
        config=True,
        help="Fork servers from a process that imported JupyterLab once (faster starts). "
        "Off: run the spawner's cmd in a new process, as JupyterHub does.",
    )
    port: int  # Spawner's Integer trait, named for mypy (jupyterhub has no types)

    async def start(self):
        if self.preload:
            ip, port = await self._fork_from_zygote()
        else:
            ip, port = await super().start()
        await wait_until_listening(self, ip, port)
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
                # PYTHONPATH too (as Spawner.env_keep does): a fork imports the code a
                # server started afresh would.
                kept = ("PATH", "LANG", "TZ", "PYTHONPATH")
                bare = {k: v for k, v in os.environ.items() if k in kept}
                cls.process = subprocess.Popen(
                    [sys.executable, "-m", "icslab.hub.zygote", cls.path], env=bare
                )
                log.info("Started the server zygote (pid %s)", cls.process.pid)
                deadline = time.monotonic() + 60
                while not Path(cls.path).exists():
                    if cls.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the server zygote did not start; see the log")
                    await asyncio.sleep(0.02)
            assert cls.path is not None  # set with the process
            return cls.path


class JoinsPlants(Configurable):
    """A spawner whose servers join their team's live plant when one runs."""

    plants_dir = Unicode("", config=True, help="The lab's live plants' folder (LabPaths.plants).")


class DockerSpawner(ProbesListening, JoinsPlants, dockerspawner.DockerSpawner):
    """DockerSpawner that returns only once the participant's server listens, and joins
    the server to its team's live plant network when there is one."""

    async def start(self):
        ip, port = await super().start()
        await self._join_plant_network()
        await wait_until_listening(self, ip, port)
        return ip, port

    async def _join_plant_network(self) -> None:
        team = self.environment.get("ICSLAB_TEAM")
        if not team:
            return
        # The team's own plant, or the room's shared one (`icslab plant up --shared`).
        for plant in (team, SHARED_PLANT):
            network = plant_network(self.prefix, plant)
            # Asked first: an engine in swarm mode answers a missing network with a 500.
            if not any(
                n["Name"] == network for n in await self.docker("networks", names=[network])
            ):
                continue  # no such plant up: `icslab plant up` joins running servers itself
            try:
                await self.docker("connect_container_to_network", self.container_id, network)
            except docker.errors.NotFound:
                continue  # removed meanwhile (`icslab plant down`)
            except docker.errors.APIError as error:
                if "already exists" not in str(error):
                    raise
            attrs = await self.docker("inspect_container", self.container_id)
            ip = attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
            record_plant_server(Path(self.plants_dir) / plant, ip, self.user.name)
            return


FAST_PROBING_SECONDS = 3.0


async def wait_until_listening(spawner, ip: str, port: int) -> None:
    """Return once ip:port accepts a connection, or the server exited, or
    start_timeout passed (the hub then reports the failure as usual).

    Probes every port_poll_interval for the first seconds, when a server on a
    quiet machine comes up; then four times a second, so that twenty servers
    starting at 9:00 do not keep the hub busy probing them."""
    started = time.monotonic()
    deadline = started + spawner.start_timeout
    next_exit_check = started
    while time.monotonic() < deadline:
        if await _accepts(ip, port):
            return
        if time.monotonic() >= next_exit_check:  # poll() may ask the Docker engine: not often
            if await spawner.poll() is not None:
                return
            next_exit_check = time.monotonic() + 2.0
        fast = time.monotonic() - started < FAST_PROBING_SECONDS
        await asyncio.sleep(spawner.port_poll_interval if fast else 0.25)


async def _accepts(ip: str, port: int) -> bool:
    try:
        async with asyncio.timeout(0.5):
            _, writer = await asyncio.open_connection(ip, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
