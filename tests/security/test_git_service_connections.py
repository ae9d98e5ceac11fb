"""The git service gave every connection a thread, with no limit and no timeout: a
participant opening connections and sending nothing could make it hold thousands.
Now it serves at most --max-connections at once, a silent one gives its place up
after --timeout, and the lab's own requests still get answered."""

import os
import socket
import subprocess
import sys

import httpx
import psutil
import pytest

from icslab.hub.launch import free_port
from icslab.waiting import wait_for

SLOTS, SILENT_SECONDS, OPENED = 4, 2, 12


@pytest.fixture
def git_service(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "JUPYTERHUB_API_TOKEN": "not-used-here",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
        "JUPYTERHUB_SERVICE_NAME": "icslab-git",
    }
    command = [
        sys.executable, "-m", "icslab.hub.git_service", f"--root={tmp_path}",
        f"--port={port}", f"--max-connections={SLOTS}", f"--timeout={SILENT_SECONDS}",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/ics-week.git/info/refs?service=git-upload-pack"
    wait_for(lambda: _answers(url), timeout=30, what="the git service")
    yield process, port, url
    process.kill()
    process.wait()


def _answers(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return None


def test_silent_connections_cannot_pile_up_threads(git_service):
    process, port, url = git_service
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(OPENED)]
    try:
        threads = psutil.Process(process.pid)
        # Each accepted connection gets a thread at once; give the accept loop a moment.
        wait_for(lambda: threads.num_threads() > SLOTS, timeout=5, what="the slots to fill")
        assert threads.num_threads() <= SLOTS + 1  # + the accepting thread
        # The silent ones time out in turn, and the lab's own request is answered.
        assert wait_for(lambda: _answers(url), timeout=60, what="an answer") == 401
    finally:
        for connection in silent:
            connection.close()
