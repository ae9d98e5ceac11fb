"""The front door as a hub-managed service: `python -m icslab.hub.front`.

JupyterHub starts it with the proxy and stops it (SIGTERM) with itself. It runs
caddy in the foreground on the Caddyfile `icslab up` wrote and checked, and, in
acme mode with per-user origins, answers caddy's on-demand question.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

from icslab.hub.front import ask, caddy
from icslab.lab import Lab, LabPaths

QUICK_EXIT_SECONDS = 5
RETRY_SECONDS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--service", action="append", default=[], help="a service's name")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(name)s] %(message)s")
    paths = LabPaths(args.data_dir)
    lab = Lab.load(paths.lab_file)
    if lab.ask_port:
        ask.serve(ask.lab_hosts(lab, args.service), lab.ask_port)
    front = subprocess.Popen(
        [caddy.CADDY, "run", "--config", str(paths.caddyfile), "--adapter", "caddyfile"],
        env=caddy.environment(paths),
    )
    stopping = []

    def forward(number, _frame):
        stopping.append(number)
        front.send_signal(number)

    # The hub stops its services with SIGTERM (SIGINT on Ctrl-C): pass either on.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    started = time.monotonic()
    code = front.wait()
    if code and not stopping and time.monotonic() - started < QUICK_EXIT_SECONDS:
        # The hub restarts a service that exits at once: not in a tight loop, please.
        logging.error("caddy exited with %s at start; trying again in %s s", code, RETRY_SECONDS)
        time.sleep(RETRY_SECONDS)
    return code


if __name__ == "__main__":
    sys.exit(main())
