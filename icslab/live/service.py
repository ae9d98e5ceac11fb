"""The live service: follow pages for live notebooks (a JupyterHub-managed service).

    GET <prefix>                      the broadcasts live now
    GET <prefix><name>                follow page (updates itself)
    GET <prefix><name>/view           the notebook as HTML, outputs included
    GET <prefix><name>/version        {"version": ...} changes with every save; 404 when ended
    GET <prefix><name>/notebook.ipynb the notebook itself (what `icslab live copy` fetches)

Every page needs a lab login (hub OAuth in a browser, or a hub token); nothing
here runs code or writes anything, and only GET is served.

    python -m icslab.live.service --data-dir DIR [--docker-prefix P] --ip IP --port N
"""

from __future__ import annotations

import argparse
import html
import json
import os
from pathlib import Path

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from icslab.errors import InputError
from icslab.live import registry
from icslab.live.workspaces import notebook_in, work_folder

PAGE = """<!doctype html><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:0}} header{{background:#123;color:#fff;padding:.5em 1em}}
header code{{color:#9cf}} iframe{{border:0;width:100%;height:calc(100vh - 3em)}}</style>
<header>Live: <b>{title}</b> by {instructor} &middot; <span id="state">following</span>
&middot; copy it into your workspace: <code>icslab live copy {name}</code> in a terminal
&middot; <a href="{name}/notebook.ipynb" download style="color:#9cf">download</a></header>
<iframe id="view" src="{name}/view"></iframe>
<script>
let seen = null;
async function poll() {{
  try {{
    const answer = await fetch("{name}/version", {{cache: "no-store"}});
    if (answer.status === 404) {{
      document.getElementById("state").textContent = "broadcast ended";
      return;
    }}
    const {{version}} = await answer.json();
    if (seen !== null && version !== seen) {{
      document.getElementById("view").src = "{name}/view?v=" + version;
    }}
    seen = version;
  }} catch (e) {{}}
  setTimeout(poll, 700);
}}
poll();
</script>
"""


class Base(HubOAuthenticated, web.RequestHandler):
    def broadcast_file(self, name: str) -> tuple[registry.Broadcast, Path]:
        settings = self.settings
        broadcast = registry.get(settings["data_dir"], name)
        if broadcast is None:
            live = ", ".join(b.name for b in registry.live(settings["data_dir"])) or "none"
            raise web.HTTPError(404, f"no broadcast called {name!r} (live now: {live})")
        try:
            folder = work_folder(settings["data_dir"], broadcast.instructor, settings["prefix"])
            return broadcast, notebook_in(folder, broadcast.path)
        except InputError as error:
            raise web.HTTPError(404, " ".join(error.problems)) from None

    def write_error(self, status_code: int, **kwargs) -> None:
        reason = self._reason
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, web.HTTPError) and error.log_message:
            reason = error.log_message % error.args if error.args else error.log_message
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}: {reason}\n")


class ListHandler(Base):
    @web.authenticated
    def get(self) -> None:
        rows = "".join(
            f"<li><a href='{html.escape(b.name)}'>{html.escape(b.name)}</a> "
            f"by {html.escape(b.instructor)} since {html.escape(b.started)}</li>"
            for b in registry.live(self.settings["data_dir"])
        )
        self.finish(f"<!doctype html><title>Live</title><h1>Live now</h1><ul>{rows or 'none'}</ul>")


class FollowHandler(Base):
    @web.authenticated
    def get(self, name: str) -> None:
        broadcast, _ = self.broadcast_file(name)
        self.finish(
            PAGE.format(
                title=html.escape(broadcast.path),
                instructor=html.escape(broadcast.instructor),
                name=html.escape(name),
            )
        )


class VersionHandler(Base):
    @web.authenticated
    def get(self, name: str) -> None:
        _, path = self.broadcast_file(name)
        try:
            version = str(path.stat().st_mtime_ns)
        except FileNotFoundError:
            version = "missing"
        self.set_header("Cache-Control", "no-store")
        self.finish({"version": version})


class NotebookHandler(Base):
    @web.authenticated
    def get(self, name: str) -> None:
        _, path = self.broadcast_file(name)
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            raise web.HTTPError(404, f"{path.name} is not saved yet") from None
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


class ViewHandler(Base):
    @web.authenticated
    def get(self, name: str) -> None:
        from nbconvert import HTMLExporter

        _, path = self.broadcast_file(name)
        try:
            body, _ = HTMLExporter(template_name="lab").from_filename(str(path))
        except FileNotFoundError:
            raise web.HTTPError(404, f"{path.name} is not saved yet") from None
        except (ValueError, json.JSONDecodeError) as error:  # caught mid-write: next poll
            raise web.HTTPError(503, f"the notebook is being saved: {error}") from None
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


def make_app(data_dir: Path, docker_prefix: str | None) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/icslab-live/")
    name = r"([a-z0-9][a-z0-9_-]{0,39})"
    return web.Application(
        [
            (prefix, ListHandler),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(prefix, name), FollowHandler),
            (url_path_join(prefix, name, "version"), VersionHandler),
            (url_path_join(prefix, name, "view"), ViewHandler),
            (url_path_join(prefix, name, "notebook.ipynb"), NotebookHandler),
        ],
        data_dir=data_dir,
        prefix=docker_prefix,
        cookie_secret=os.urandom(32),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the lab's live notebooks.")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--docker-prefix")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    make_app(args.data_dir, args.docker_prefix).listen(args.port, args.ip)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
