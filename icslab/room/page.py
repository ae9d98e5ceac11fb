"""The room view's page: a static shell and its script, which fetches `state` every
two seconds and draws it (text only: nothing from the state is ever parsed as HTML).
plotly.js comes from the installed plotly package, so the page works offline."""

from __future__ import annotations

import html as escaping
from functools import cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"
# Scripts only from this service (no inline script); plotly draws with inline styles.
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def html(title: str, xsrf: str) -> str:
    """The page; `xsrf` is the token its script sends with every fetch (JupyterHub
    accepts a cookie on a script's request only with it)."""
    shell = (STATIC / "room.html").read_text(encoding="utf-8")
    return shell.replace("{{title}}", escaping.escape(title)).replace(
        "{{xsrf}}", escaping.escape(xsrf)
    )


@cache
def script(name: str) -> bytes:
    if name == "plotly.js":
        import plotly

        return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    return (STATIC / name).read_bytes()
