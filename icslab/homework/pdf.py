"""Handed-in notebooks -> PDF, for instructors to read and annotate offline.

A participant made every byte of a notebook, and this runs on the lab server (as
root in CI), so the renderer is built to show it, never to run it:

- the notebook is read without following links (safe_read) and rendered by
  nbconvert with `sanitize_html`, as on acceptance: its HTML, markdown and SVG lose
  scripts, event handlers and images that point anywhere;
- plotly figures are data: each output's `application/vnd.plotly.v1+json` becomes
  an empty placeholder (a random id per notebook), and the lab's own code hands the
  figures to the plotly.js shipped in the `plotly` package (offline, no CDN);
- the page is served from a made-up origin by Playwright's request routing: only
  the page and plotly.js are answered, everything else is aborted, and its
  Content-Security-Policy allows only the lab's one script (a nonce) and data: images;
- Debian's chromium runs with its sandbox, as an unprivileged user (`nobody` when
  we are root) in a network namespace of its own with no interface up: no request
  can leave the machine or reach a loopback service, whatever slips through;
- each notebook gets a fresh browser and a deadline; past it the browser is killed
  and the notebook reported.

Why Playwright's `page.pdf()`: nbconvert's WebPDF exporter drives the same browser
through Playwright but gives no hold on its requests, its launch (it disables the
sandbox when asked, and as root it must) or a deadline; `chromium --print-to-pdf`
loads a file:// page (which may read other files) with no request routing and no
signal that the figures are drawn. Playwright gives all three.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import bleach

from icslab import safe_read
from icslab.handin.accept import MAX_BYTES

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
DEADLINE = 60.0  # seconds per notebook: the curriculum's take 3-6 (bench/homework_pdf.py)
ORIGIN = "https://hand-in.icslab.invalid/"
PAGE, PLOTLY = ORIGIN + "notebook.html", ORIGIN + "plotly.min.js"
# A4 less chromium's default margins, in CSS pixels: the page figures are drawn for.
A4_WIDTH_PX = 718
PLOTLY_MIME = "application/vnd.plotly.v1+json"
# The unprivileged user chromium runs as when we are root (its sandbox wants non-root).
BROWSER_USER = "nobody"
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


class Unrenderable(Exception):
    """Why a notebook has no PDF; never quotes the notebook."""


@dataclass(frozen=True)
class Page:
    html: str
    figures: dict[str, dict]
    nonce: str


def page_for(notebook_bytes: bytes) -> Page:
    """The notebook as sanitised HTML, its plotly figures apart as data."""
    import nbformat
    from nbconvert import HTMLExporter

    try:
        notebook = nbformat.reads(notebook_bytes.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except Exception:  # whatever nbformat finds wrong: say so, never quote it
        raise Unrenderable("not a notebook nbformat reads") from None
    token, nonce = secrets.token_hex(8), secrets.token_urlsafe(18)
    figures: dict[str, dict] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            figure = output.get("data", {}).get(PLOTLY_MIME)
            if isinstance(figure, dict):
                place = f"icslab-figure-{token}-{len(figures)}"
                figures[place] = figure
                output["data"] = {"text/html": f'<div id="{place}"></div>'}
    exporter = HTMLExporter(sanitize_html=True)
    exporter.register_filter("clean_html", clean_html)
    try:
        html, _ = exporter.from_notebook_node(notebook)
    except Exception:
        raise Unrenderable("nbconvert could not render it as HTML") from None
    # After </html>: the parser puts these at the end of the body.
    html += PRINT_STYLE
    if figures:
        html += f'\n<script nonce="{nonce}" src="{PLOTLY}"></script>\n'
    return Page(html, figures, nonce)


STYLE_ELEMENT = re.compile(r"<style\b[^>]*>.*?</style\s*>", re.I | re.S)
# Paper does not scroll: long code lines and outputs wrap instead of running off the page.
PRINT_STYLE = (
    "\n<style>pre { white-space: pre-wrap; overflow-wrap: anywhere; } "
    ".jp-OutputArea-output, .jp-InputArea-editor { overflow: visible; }</style>\n"
)
# nbconvert's own clean_html keeps only inline tags: a heading would print as "<h1 ...>".
# The same bleach, with the block tags a notebook's markdown makes; images only inline.
TAGS = frozenset(bleach.ALLOWED_TAGS) | {
    "div", "span", "p", "br", "hr", "pre", "code", "kbd", "samp", "sub", "sup", "del", "s",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    "caption", "dl", "dt", "dd", "img", "figure", "figcaption", "details", "summary",
}  # fmt: skip


def _attribute(tag: str, name: str, value: str) -> bool:
    """Links may point anywhere (printed, never followed); images only inline (data:)."""
    if name in ("class", "id", "title"):
        return True
    if tag == "a":
        return name == "href" and not value.lower().startswith("data:")
    if tag == "img":
        return name in ("alt", "width", "height") or (
            name == "src" and value.lower().startswith("data:image/")
        )
    return tag in ("td", "th") and name in ("colspan", "rowspan", "align")


def clean_html(element: str | bytes) -> str:
    """Participant HTML with anything that runs or fetches escaped or dropped."""
    text = element.decode() if isinstance(element, bytes) else str(element)
    # Style sheets go whole (pandas starts every table with one): escaped, their text
    # would print before each table. Whatever this misses, bleach escapes below.
    text = STYLE_ELEMENT.sub("", text)
    protocols = {"http", "https", "mailto", "data"}  # and _attribute limits data: to <img>
    return bleach.clean(text, tags=TAGS, attributes=_attribute, protocols=protocols)


def policy(nonce: str) -> str:
    """Only the lab's plotly.js runs; images and fonts only from data: URLs."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
    )


class Renderer:
    """Turns notebooks beneath a folder into PDFs, one fresh isolated browser each.

    with Renderer() as renderer:
        pdf_bytes = renderer.pdf(entry.folder, "drafts/ideas.ipynb")

    `home`: a fresh folder for its browsers' profile and launcher, removed on exit.
    """

    def __init__(self, deadline: float = DEADLINE, chromium: Path = CHROMIUM):
        self.deadline, self.chromium = deadline, chromium
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Renderer:
        from playwright.sync_api import sync_playwright

        if not os.access(self.chromium, os.X_OK):
            raise Unrenderable(
                f"{self.chromium} is missing: install Debian's chromium (apt-get install "
                "chromium, or scripts/debian-deps)"
            )
        try:
            # As root, in /tmp: the browser's user must pass through every folder above
            # its profile, and $TMPDIR may be root's own.
            root_tmp = "/tmp" if os.geteuid() == 0 else None
            folder = tempfile.TemporaryDirectory(prefix="icslab-pdf-", dir=root_tmp)
            self.home = Path(self._stack.enter_context(folder))
            self._launcher, self._pid_file = _launcher(self.home, self.chromium)
            self._playwright = self._stack.enter_context(sync_playwright())
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def pdf(self, folder: Path, relative: str) -> bytes:
        """The PDF of the notebook `relative` beneath `folder` (no link followed)."""
        try:
            found = safe_read.read(folder, relative, MAX_BYTES)
        except safe_read.Refused as refused:
            raise Unrenderable(str(refused).removeprefix(f"{relative}: ")) from None
        page = page_for(found.data)
        with self._watchdog() as expired:
            try:
                return self._print(page)
            except Exception as error:
                if expired.is_set():
                    raise Unrenderable(f"not rendered within {self.deadline:g} s") from None
                if isinstance(error, Unrenderable):
                    raise
                raise Unrenderable("the browser could not render it") from None

    def _print(self, page: Page) -> bytes:
        from playwright.sync_api import Route

        profile = self.home / "profile"
        shutil.rmtree(profile, ignore_errors=True)
        profile.mkdir(mode=0o700)
        _hand_to_browser_user(profile)
        plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"

        def answer(route: Route) -> None:
            if route.request.url == PAGE:
                headers = {"Content-Security-Policy": policy(page.nonce)}
                route.fulfill(body=page.html, content_type="text/html", headers=headers)
            elif route.request.url == PLOTLY and page.figures:
                route.fulfill(body=plotly_js.read_bytes(), content_type="text/javascript")
            else:
                route.abort("blockedbyclient")

        try:
            context = self._launch(profile)
        except Exception as error:  # the browser's own log, no notebook in it yet
            raise Unrenderable(f"chromium did not start: {str(error).splitlines()[0]}") from None
        try:
            context.set_default_timeout(self.deadline * 1000)
            context.route("**/*", answer)
            tab = context.new_page()
            tab.emulate_media(media="print")  # figures sized for the page they print on
            tab.goto(PAGE, wait_until="load")
            if page.figures:
                tab.evaluate(DRAW_FIGURES, page.figures)
            return tab.pdf(format="A4", print_background=True)
        finally:
            with contextlib.suppress(Exception):
                context.close()

    def _launch(self, profile: Path) -> BrowserContext:
        return self._playwright.chromium.launch_persistent_context(
            profile,
            executable_path=self._launcher,
            chromium_sandbox=True,  # Playwright's default is --no-sandbox
            headless=True,
            env={"HOME": str(profile), "PATH": "/usr/bin:/bin"},
            args=["--disable-gpu", "--no-first-run", "--disable-background-networking"],
            service_workers="block",
            accept_downloads=False,
            viewport={"width": A4_WIDTH_PX, "height": 1000},
            timeout=self.deadline * 1000,
        )

    @contextlib.contextmanager
    def _watchdog(self) -> Iterator[threading.Event]:
        """Kill the browser (its whole process group) if the notebook runs past the deadline:
        Playwright's evaluate and pdf have no timeout of their own."""
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            with contextlib.suppress(OSError, ValueError):
                os.killpg(int(self._pid_file.read_text()), signal.SIGKILL)

        self._pid_file.unlink(missing_ok=True)
        timer = threading.Timer(self.deadline, kill)
        timer.start()
        try:
            yield expired
        finally:
            timer.cancel()


def _launcher(home: Path, chromium: Path) -> tuple[Path, Path]:
    """A script Playwright starts as its browser: it notes its pid (chromium keeps it
    through the execs) and runs chromium as an unprivileged user, in a user and network
    namespace of its own with no interface up (chromium's sandbox works inside it)."""
    pid_file = home / "browser.pid"
    drop = []
    if os.geteuid() == 0:
        user = pwd.getpwnam(BROWSER_USER)
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--inh-caps=-all", "--"]  # fmt: skip
    jail = [*drop, "unshare", "--user", "--map-current-user", "--net", "--", str(chromium)]
    script = home / "chromium-offline"
    script.write_text(
        f'#!/bin/sh\necho $$ > {shlex.quote(str(pid_file))}\nexec {shlex.join(jail)} "$@"\n'
    )
    script.chmod(0o700)
    return script, pid_file


def _hand_to_browser_user(profile: Path) -> None:
    """The browser's profile folder (and the way to it) for the user it runs as."""
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam(BROWSER_USER)
    os.chown(profile, user.pw_uid, user.pw_gid)
    # Its parent (ours, 0700) must let that user pass through to its profile, no more.
    os.chmod(profile.parent, 0o711)
