"""Find configurable-http-proxy without a global install."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from icslab.errors import InputError

# `make install` puts the npm package here, inside the virtualenv.
LOCAL_PROXY = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"


def proxy_command() -> list[str]:
    if LOCAL_PROXY.exists():
        return [str(LOCAL_PROXY)]
    found = shutil.which("configurable-http-proxy")
    if found:
        return [found]
    raise InputError(
        "configurable-http-proxy not found: run `make install` (it installs the proxy into "
        f"{LOCAL_PROXY.parent.parent.parent}) or `apt-get install node-configurable-http-proxy`"
    )
