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
from pathlib import Path

from icslab.hub.front import ask, caddy
from icslab.lab import Lab, LabPaths


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
    # The hub stops its services with SIGTERM (SIGINT on Ctrl-C): pass either on.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: front.send_signal(number))
    return front.wait()


if __name__ == "__main__":
    sys.exit(main())
