"""The browser side of homework PDFs: one page -> one PDF, in a process of its own.

    python -m icslab.homework.printer < job.json > notebook.pdf

Renderer (icslab.homework.pdf) starts this once per notebook and kills it, with its
browser, at the notebook's deadline. Playwright's calls can wait on a dead browser for
ever; a process the lab can kill cannot.

The job (JSON on stdin): html, figures, nonce, home (the Renderer's folder, with the
launcher), chromium, deadline. On failure: exit 2 and one line on stderr saying why,
never quoting the notebook.

- the page is served from a made-up origin by Playwright's request routing: only
  the page and plotly.js are answered, everything else is aborted, and its
  Content-Security-Policy allows only the lab's one script (a nonce) and data: images;
- Debian's chromium runs with its sandbox, as an unprivileged user (`nobody` when
  we are root) in a network namespace of its own with no interface up: no request
  can leave the machine or reach a loopback service, whatever slips through.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import sys
from importlib import resources
from pathlib import Path

ORIGIN = "https://hand-in.icslab.invalid/"
PAGE, PLOTLY = ORIGIN + "notebook.html", ORIGIN + "plotly.min.js"
# A4 less chromium's default margins, in CSS pixels: the page figures are drawn for.
A4_WIDTH_PX = 718
# The unprivileged user chromium runs as when we are root (its sandbox wants non-root).
BROWSER_USER = "nobody"
FAILED = 2  # exit status with a reason on stderr
# Run by the lab (Runtime.callFunctionOn, outside the page's CSP) with the figures as
# arguments: the page's own scripts never see them as code.
DRAW_FIGURES = """async figures => {
  for (const [id, figure] of Object.entries(figures)) {
    const place = document.getElementById(id);
    if (!place || typeof figure !== "object" || figure === null) continue;
    const data = Array.isArray(figure.data) ? figure.data : [];
    const layout = typeof figure.layout === "object" && figure.layout ? figure.layout : {};
    await Plotly.newPlot(place, data, layout, {staticPlot: true, displayModeBar: false});
  }
}"""


class Failed(Exception):
    """Why the page was not printed; never quotes the notebook."""


def policy(nonce: str) -> str:
    """Only the lab's plotly.js runs; images and fonts only from data: URLs."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
    )


def launcher(home: Path) -> Path:
    return home / "chromium-offline"


def pid_file(home: Path) -> Path:
    """Where the launcher notes the browser's pid (and process group)."""
    return home / "browser.pid"


def write_launcher(home: Path, chromium: Path) -> None:
    """A script Playwright starts as its browser: it notes its pid (chromium keeps it
    through the execs) and runs chromium as an unprivileged user, in a user and network
    namespace of its own with no interface up (chromium's sandbox works inside it)."""
    drop = []
    if os.geteuid() == 0:
        user = pwd.getpwnam(BROWSER_USER)
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--inh-caps=-all", "--"]  # fmt: skip
    jail = [*drop, "unshare", "--user", "--map-current-user", "--net", "--", str(chromium)]
    script = launcher(home)
    script.write_text(
        f'#!/bin/sh\necho $$ > {shlex.quote(str(pid_file(home)))}\nexec {shlex.join(jail)} "$@"\n'
    )
    script.chmod(0o700)


def print_page(job: dict) -> bytes:
    from playwright.sync_api import Route, sync_playwright

    home, deadline_ms = Path(job["home"]), job["deadline"] * 1000
    profile = home / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(mode=0o700)
    _hand_to_browser_user(profile)
    plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"

    def answer(route: Route) -> None:
        if route.request.url == PAGE:
            headers = {"Content-Security-Policy": policy(job["nonce"])}
            route.fulfill(body=job["html"], content_type="text/html", headers=headers)
        elif route.request.url == PLOTLY and job["figures"]:
            route.fulfill(body=plotly_js.read_bytes(), content_type="text/javascript")
        else:
            route.abort("blockedbyclient")

    with sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=launcher(home),
                chromium_sandbox=True,  # Playwright's default is --no-sandbox
                headless=True,
                env={"HOME": str(profile), "PATH": "/usr/bin:/bin"},
                args=["--disable-gpu", "--no-first-run", "--disable-background-networking"],
                service_workers="block",
                accept_downloads=False,
                viewport={"width": A4_WIDTH_PX, "height": 1000},
                timeout=deadline_ms,
            )
        except Exception as error:  # the browser's own log, no notebook in it yet
            raise Failed(f"chromium did not start: {str(error).splitlines()[0]}") from None
        try:
            context.set_default_timeout(deadline_ms)
            context.route("**/*", answer)
            tab = context.new_page()
            tab.emulate_media(media="print")  # figures sized for the page they print on
            tab.goto(PAGE, wait_until="load")
            if job["figures"]:
                tab.evaluate(DRAW_FIGURES, job["figures"])
            return tab.pdf(format="A4", print_background=True)
        except Exception:
            raise Failed("the browser could not render it") from None
        finally:
            with contextlib.suppress(Exception):
                context.close()


def _hand_to_browser_user(profile: Path) -> None:
    """The browser's profile folder (and the way to it) for the user it runs as."""
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam(BROWSER_USER)
    os.chown(profile, user.pw_uid, user.pw_gid)
    # Its parent (the Renderer's, 0700) must let that user pass through, no more.
    os.chmod(profile.parent, 0o711)


def main() -> int:
    try:
        pdf = print_page(json.load(sys.stdin))
    except Failed as failed:
        print(failed, file=sys.stderr)
        return FAILED
    sys.stdout.buffer.write(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
