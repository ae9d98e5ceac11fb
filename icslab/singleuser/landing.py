"""A server extension: the page a participant lands on after logging in.

With `material.landing` set, the hub makes `/icslab/landing` the server's default
URL and hands the setting over as $ICSLAB_LANDING: a workshop (open its manifest's
first notebook, so the landing follows what the instructor published) or
WORKSHOP/PATH. The page waits (at most WAIT_SECONDS) for that workshop's pull at
server start, so a first login never opens a notebook that is not there yet, then
redirects to it in JupyterLab; when there is nothing to open it redirects to
$ICSLAB_LANDING_ELSE (hub.default_url).
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from pathlib import Path
from urllib.parse import quote

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from icslab.singleuser.autopull import PULLED

LANDING_PATH = "/icslab/landing"
LANDING_ENV = "ICSLAB_LANDING"
ELSE_ENV = "ICSLAB_LANDING_ELSE"
MANIFEST = "workshop.toml"  # a published workshop's manifest (icslab.notebooks.manifest)
WAIT_SECONDS = 30.0


def _jupyter_server_extension_points():
    return [{"module": "icslab.singleuser.landing"}]


def _load_jupyter_server_extension(app) -> None:
    route = url_path_join(app.base_url, LANDING_PATH)
    app.web_app.add_handlers(".*$", [(route, LandingHandler)])


class LandingHandler(JupyterHandler):
    @web.authenticated
    async def get(self) -> None:
        landing = os.environ.get(LANDING_ENV, "")
        pulling = self.settings.get(PULLED, {}).get(landing.split("/")[0])
        if pulling is not None:
            await asyncio.get_running_loop().run_in_executor(None, pulling.wait, WAIT_SECONDS)
        found = landing_path(Path(self.settings["server_root_dir"]).expanduser(), landing)
        if found:
            target = f"lab/tree/{quote(found)}"
        else:
            target = os.environ.get(ELSE_ENV, "/lab").lstrip("/")
        self.redirect(url_path_join(self.base_url, target))


def landing_path(root: Path, landing: str) -> str | None:
    """What to open, relative to `root`: the notebook `landing` names, else its
    workshop's folder; None if neither is there."""
    workshop, _, inside = landing.partition("/")
    if not workshop or not (root / workshop).is_dir():
        return None
    inside = inside or first_notebook(root / workshop) or ""
    if inside and (root / workshop / inside).is_file():
        return f"{workshop}/{inside}"
    return workshop


def first_notebook(folder: Path) -> str | None:
    """The first module of a pulled workshop's manifest (None if it has none)."""
    try:
        manifest = tomllib.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        file = manifest["modules"][0]["file"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return file if isinstance(file, str) else None
