"""The idle culler in a real lab, with a two-minute timeout: a participant who leaves
their server idle is warned in their JupyterLab, and then their server is stopped;
the warning comes first. Reading the notifications, as an open JupyterLab tab does
every 30 s, does not count as using the server (or an open tab would keep every
idle server alive)."""

import time

import pytest

from icslab.testing import RunningLab
from icslab.waiting import wait_for

pytestmark = pytest.mark.integration


def test_an_idle_server_is_warned_then_stopped(tmp_path):
    culler = {"idle_timeout_minutes": 2, "warn_minutes": 1}
    with RunningLab(tmp_path, culler=culler, limits={"spare_kernels": 0}) as lab:
        p01 = lab.login("p01")
        p01.start_server()
        p01.open_server()
        started = time.monotonic()
        feed = f"{p01.server_url('p01')}jupyterlab-notifications-extension/notifications"

        def warning():
            shown = p01.http.get(feed).json()["notifications"]
            return next((n for n in shown if n["type"] == "warning"), None)

        warned = wait_for(warning, timeout=150, what="the culler's warning")
        warned_after = time.monotonic() - started
        assert "idle" in warned["message"] and "Your files are kept" in warned["message"]
        assert p01.server_status(), "the warning must come while the server still runs"

        wait_for(lambda: not p01.server_status(), timeout=240, what="the cull")
        stopped_after = time.monotonic() - started
        assert 55 <= warned_after < stopped_after, (warned_after, stopped_after)
        assert "Culling server p01" in lab.logs() or "culling" in lab.logs().lower()
