"""A participant takes a copy of a live notebook into their own workspace: fetched from
the live service with their own server's token (`icslab live copy`)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import httpx

from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.lab import LIVE_URL_ENV


def copy_live(name: str, to: Path) -> Path:
    """Write the broadcast's current notebook to TO/<name>-<HHMMSS>.ipynb; return its path."""
    base, token = os.environ.get(LIVE_URL_ENV), os.environ.get("JUPYTERHUB_API_TOKEN")
    if not base or not token:
        raise InputError("run this in your JupyterLab terminal: no live service is configured")
    answer = httpx.get(
        f"{base}{name}/notebook.ipynb",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    if answer.status_code != 200:
        raise InputError(answer.text.strip() or f"the live service answered {answer.status_code}")
    target = to / f"{name}-{datetime.now().strftime('%H%M%S')}.ipynb"
    write_atomic(target, answer.content, 0o644)  # never a half-written notebook
    return target
