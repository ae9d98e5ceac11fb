"""The live service: follow pages for live notebooks (a JupyterHub-managed service).

    GET <prefix>                      the broadcasts live now
    GET <prefix><name>                follow page (updates itself)
    GET <prefix><name>/view           the notebook as HTML, outputs included
    GET <prefix><name>/version        {"version": ...} changes with every save; 404 when ended
    GET <prefix><name>/notebook.ipynb the notebook itself (what `icslab live copy` fetches)

Every page needs a lab login (hub OAuth in a browser, or a hub token); nothing
here runs code or writes anything, and only GET is served. It runs as root and the
work folder is its owner's: the notebook is read only through icslab.safe_read
(no link followed, regular files only, at most MAX_NOTEBOOK bytes), and no reply
or log line quotes a file's content.

    python -m icslab.live.service --data-dir DIR [--docker-prefix P] --ip IP --port N
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from icslab import safe_read
from icslab.errors import InputError
from icslab.hub.plain_errors import PlainTextErrors
from icslab.live import registry
from icslab.live.workspaces import checked_notebook, work_folder

MAX_NOTEBOOK = 20 << 20  # bytes; a teaching notebook with its plots is far smaller
# The /view page runs the notebook's HTML and scripts in an opaque origin, never ours.
VIEW_CSP = "sandbox allow-scripts"
# nbconvert off the event loop, two at a time; one render per broadcast and version,
# shared by every follower: broadcast name -> ((instructor, path, mtime_ns, size), future).
RENDERER = ThreadPoolExecutor(2, thread_name_prefix="nbconvert")
RENDERS: dict[str, tuple[tuple, asyncio.Future]] = {}

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
    // JupyterHub accepts the login cookie on a script's request only with its xsrf token.
    const headers = {{"X-XSRFToken": "{xsrf}"}};
    const answer = await fetch("{name}/version", {{cache: "no-store", headers}});
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


class Base(HubOAuthenticated, PlainTextErrors):
    def broadcast_file(self, name: str) -> tuple[registry.Broadcast, Path, str]:
        """The broadcast, its instructor's work folder and the notebook's path in it."""
        settings = self.settings
        broadcast = registry.get(settings["data_dir"], name)
        if broadcast is None:
            live = ", ".join(b.name for b in registry.live(settings["data_dir"])) or "none"
            raise web.HTTPError(404, "no broadcast called %r (live now: %s)", name, live)
        try:
            folder = work_folder(settings["data_dir"], broadcast.instructor, settings["prefix"])
            return broadcast, folder, checked_notebook(broadcast.path)
        except InputError as error:
            raise web.HTTPError(404, "%s", " ".join(error.problems)) from None


def safely(call, folder: Path, relative: str, *args) -> safe_read.Found:
    """safe_read's answer, or a 404 naming the path and the reason (never content)."""
    try:
        return call(folder, relative, *args)
    except safe_read.Refused as refused:
        if refused.missing:
            raise web.HTTPError(404, "%s is not saved yet", PurePosixPath(relative).name) from None
        raise web.HTTPError(404, "%s; not served", refused) from None


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
        broadcast, _, _ = self.broadcast_file(name)
        self.finish(
            PAGE.format(
                title=html.escape(broadcast.path),
                instructor=html.escape(broadcast.instructor),
                name=html.escape(name),
                xsrf=html.escape(self.xsrf_token.decode("ascii")),
            )
        )


class VersionHandler(Base):
    @web.authenticated
    def get(self, name: str) -> None:
        _, folder, relative = self.broadcast_file(name)
        try:
            found = safe_read.stat(folder, relative)
            version = f"{found.mtime_ns}-{found.size}"
        except safe_read.Refused as refused:
            if not refused.missing:
                raise web.HTTPError(404, "%s; not served", refused) from None
            version = "missing"
        self.set_header("Cache-Control", "no-store")
        self.finish({"version": version})


class NotebookHandler(Base):
    @web.authenticated
    def get(self, name: str) -> None:
        _, folder, relative = self.broadcast_file(name)
        found = safely(safe_read.read, folder, relative, MAX_NOTEBOOK)
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Cache-Control", "no-store")
        self.finish(found.data)


class ViewHandler(Base):
    @web.authenticated
    async def get(self, name: str) -> None:
        broadcast, folder, relative = self.broadcast_file(name)
        found = safely(safe_read.stat, folder, relative)
        key = (broadcast.instructor, relative, found.mtime_ns, found.size)
        cached = RENDERS.get(name)
        if cached is None or cached[0] != key:
            render = ioloop.IOLoop.current().run_in_executor(
                RENDERER, render_html, folder, relative
            )
            cached = RENDERS[name] = (key, render)
        try:
            body = await cached[1]
        except Exception:
            if RENDERS.get(name) is cached:
                del RENDERS[name]  # caught mid-save, say: the next poll renders again
            raise
        self.set_header("Content-Security-Policy", VIEW_CSP)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


def render_html(folder: Path, relative: str) -> str:
    """The notebook as HTML (in a worker thread)."""
    import nbformat
    from nbconvert import HTMLExporter

    found = safely(safe_read.read, folder, relative, MAX_NOTEBOOK)
    name = PurePosixPath(relative).name
    try:
        # nbformat.reads would log a validation error, which quotes the notebook.
        notebook = nbformat.convert(nbformat.reader.reads(found.data), 4)
        resources = {"metadata": {"name": PurePosixPath(relative).stem}}
        return HTMLExporter(template_name="lab").from_notebook_node(notebook, resources)[0]
    except Exception as error:  # its message may quote the file: say only what it was
        raise web.HTTPError(
            503, "%s is being saved or is not a notebook (%s)", name, type(error).__name__
        ) from None


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
