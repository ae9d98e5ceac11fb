"""The lab's git service: workshops as read-only git repositories over smart HTTP.

A JupyterHub-managed service (the hub starts and stops it) serving
`DATA_DIR/git/<workshop>.git` with dulwich, so nbgitpuller links work in a lab
without internet. Every request needs a hub token allowed to access this
service (`access:services!service=icslab-git`): participants' servers send their
own ($JUPYTERHUB_API_TOKEN, via the git config the spawner sets), a person with
`git` can use a token from /hub/token as the password. Only fetching is served:
publishing is `icslab publish` on the lab's server, never a push.

    python -m icslab.hub.git_service --root DATA_DIR/git --ip 127.0.0.1 --port 8101
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any

from dulwich.server import DictBackend, UploadPackHandler
from dulwich.web import (
    WSGIRequestHandlerLogger,
    WSGIServerLogger,
    make_server,
    make_wsgi_chain,
)

from icslab.lab import GIT_SERVICE

log = logging.getLogger(GIT_SERVICE)
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


def token_from(environ: Environ) -> str | None:
    """A token from `Authorization: token X`, `Bearer X` or Basic (any user, token as password)."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    kind, _, value = header.partition(" ")
    if kind.lower() in ("token", "bearer"):
        return value.strip() or None
    if kind.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return password or None
    return None


def _reply(start_response: StartResponse, status: str, text: str, **headers: str):
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), *headers.items()])
    return [text.encode() + b"\n"]


class HubTokenGate:
    """WSGI middleware: let a request through only with a token the hub allows here."""

    def __init__(self, app: App, allowed: Callable[[str], str | None]):
        self.app, self.allowed = app, allowed

    def __call__(self, environ: Environ, start_response: StartResponse):
        if "git-receive-pack" in environ.get("PATH_INFO", "") + environ.get("QUERY_STRING", ""):
            return _reply(
                start_response,
                "403 Forbidden",
                "This repository is read-only: instructors publish with `icslab publish`.",
            )
        token = token_from(environ)
        if token is None:
            return _reply(
                start_response,
                "401 Unauthorized",
                "Log in to the lab: a hub token is needed (as the password).",
                **{"WWW-Authenticate": 'Basic realm="icslab"'},
            )
        user = self.allowed(token)
        if user is None:
            return _reply(start_response, "403 Forbidden", "This token may not read workshops.")
        environ["REMOTE_USER"] = user
        return self.app(environ, start_response)


def hub_checker() -> Callable[[str], str | None]:
    """Ask the hub (with caching) who a token belongs to and whether it may use us."""
    from jupyterhub.services.auth import HubAuth

    auth = HubAuth(cache_max_age=60)
    required = auth.access_scopes  # from $JUPYTERHUB_SERVICE_NAME: access:services!service=...

    def allowed(token: str) -> str | None:
        model = auth.user_for_token(token, sync=True)
        if not model or not auth.check_scopes(required, model):
            return None
        return model.get("name")

    return allowed


class Repositories(DictBackend):
    """Every `<name>.git` under root, looked up per request (a new publication needs no
    restart), and only there."""

    def __init__(self, root: str):
        super().__init__({})
        self.root = os.path.realpath(root)

    def open_repository(self, path: str | bytes):
        from dulwich.errors import NotGitRepository
        from dulwich.repo import Repo

        text = path.decode() if isinstance(path, bytes) else path
        name = text.strip("/")
        if "/" in name or not name.endswith(".git") or name.startswith("."):
            raise NotGitRepository(f"no repository {text}")
        folder = os.path.join(self.root, name)
        if not os.path.isfile(os.path.join(folder, "HEAD")):
            raise NotGitRepository(f"no repository {text}")
        return Repo(folder)


def application(root: str, allowed: Callable[[str], str | None]) -> App:
    # The chain adds what git clients need around the app: gzip and chunked request bodies.
    git = make_wsgi_chain(Repositories(root), handlers={b"git-upload-pack": UploadPackHandler})
    return HubTokenGate(git, allowed)


class ThreadingServer(ThreadingMixIn, WSGIServerLogger):
    """A thread per connection, at most `max_connections` at once: more wait in the
    listen queue, so a participant opening thousands cannot exhaust the server."""

    daemon_threads = True  # a slow client never holds up the service's shutdown
    max_connections = 32

    def server_activate(self):
        super().server_activate()
        self.slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request, client_address):
        self.slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class Handler(WSGIRequestHandlerLogger):
    timeout = 30  # seconds a connection may stay silent before it gives up its slot


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the lab's workshop repositories.")
    parser.add_argument("--root", required=True)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-connections", type=int, default=ThreadingServer.max_connections)
    parser.add_argument("--timeout", type=float, default=Handler.timeout)
    args = parser.parse_args(argv)
    ThreadingServer.max_connections, Handler.timeout = args.max_connections, args.timeout
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    os.makedirs(args.root, exist_ok=True)
    server = make_server(
        args.ip,
        args.port,
        application(args.root, hub_checker()),
        handler_class=Handler,
        server_class=ThreadingServer,
    )
    log.info("serving %s on http://%s:%d", args.root, args.ip, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
