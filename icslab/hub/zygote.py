"""Preloaded single-user servers for the local spawner: fork instead of exec.

A participant's JupyterLab server spends about 1.5 s importing jupyter_server,
jupyterlab and jupyterhub.singleuser before it does anything. The zygote, a
child of the hub started with its first local server, imports them once; each
server is then a fork of it, with its own environment, working folder and
session, running `jupyterhub-singleuser`'s main with its own arguments. The
spawner talks to the zygote over a Unix socket (one JSON line each way) and
then treats the server like any process it started: by pid.

    python -m icslab.hub.zygote SOCKET
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import traceback

# What `jupyterhub-singleuser` imports on every start, plus the server extensions
# installed in the lab's environment (importing one that is absent is skipped).
PRELOAD = (
    "jupyterhub.singleuser",
    "jupyterhub.singleuser.extension",
    "jupyter_server.serverapp",
    "jupyterlab.labapp",
    "jupyter_lsp",
    "jupyter_server_terminals",
    "notebook_shim",
    "nbgitpuller.handlers",
)
# Not preloaded: modules that read the participant's environment when imported,
# which a fork would otherwise share (jupyter_server_fileid puts its database
# under $HOME at import; jupyter_server_ydoc imports it).
NOT_PRELOADED = ("jupyter_server_fileid", "jupyter_server_ydoc")
TICK_SECONDS = 0.2  # how often the zygote reaps exited servers and checks on the hub


def preload() -> None:
    for module in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def serve(path: str) -> None:
    preload()
    hub = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")  # renamed once listening: its presence means "ready"
    os.chmod(path + ".new", 0o600)
    listener.listen(64)
    os.replace(path + ".new", path)
    listener.settimeout(TICK_SECONDS)
    while os.getppid() == hub:  # the hub is gone: so is the zygote (its servers stay)
        _reap()
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        with connection:
            request = json.loads(connection.makefile("r").readline())
            pid = os.fork()
            if pid == 0:
                listener.close()
                connection.close()
                _run_server(request)  # never returns
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _reap() -> None:
    """Collect exited servers, so a stopped server's pid stops answering signals."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _run_server(request: dict) -> None:
    code = 1
    try:
        os.setsid()  # its own session, as Popen(start_new_session=True) would
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(request["env"])
        # As a new interpreter would: the server's PYTHONPATH comes first (local mode's
        # language packs are found there).
        added = request["env"].get("PYTHONPATH", "").split(os.pathsep)
        sys.path[:0] = [entry for entry in added if entry and entry not in sys.path]
        os.makedirs(request["cwd"], 0o755, exist_ok=True)
        os.chdir(request["cwd"])
        sys.argv = list(request["argv"])
        from jupyterhub.singleuser import main

        code = main() or 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def request_server(path: str, argv: list[str], env: dict[str, str], cwd: str) -> int:
    """Ask the zygote at `path` for a server; returns its pid."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(30)
        client.connect(path)
        message = {"argv": argv, "env": env, "cwd": cwd}
        client.sendall(json.dumps(message).encode() + b"\n")
        return int(json.loads(client.makefile("r").readline())["pid"])


if __name__ == "__main__":
    serve(sys.argv[1])
