"""Handed-in notebooks -> PDF, for instructors to read and annotate offline.

A participant made every byte of a notebook, and this runs on the lab server (as
root in CI), so the renderer is built to show it, never to run it:

- the notebook is read without following links (safe_read) and rendered by
  nbconvert with `sanitize_html`, as on acceptance: its HTML, markdown and SVG lose
  scripts, event handlers and images that point anywhere;
- plotly figures are data: each output's `application/vnd.plotly.v1+json` becomes
  an empty placeholder (a random id per notebook), and the lab's own code hands the
  figures to the plotly.js shipped in the `plotly` package (offline, no CDN);
- the page is printed by Debian's chromium, sandboxed, offline and served only what
  the lab answers (icslab.homework.printer);
- each notebook gets a fresh printer process and browser and a deadline; past it
  both are killed and the notebook reported.

Why Playwright's `page.pdf()`: nbconvert's WebPDF exporter drives the same browser
through Playwright but gives no hold on its requests, its launch (it disables the
sandbox when asked, and as root it must) or a deadline; `chromium --print-to-pdf`
loads a file:// page (which may read other files) with no request routing and no
signal that the figures are drawn. Playwright gives all three.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bleach

from icslab import safe_read
from icslab.handin.accept import MAX_BYTES
from icslab.homework import printer
from icslab.homework.printer import PLOTLY

CHROMIUM = Path("/usr/bin/chromium")
DEADLINE = 60.0  # seconds per notebook: the curriculum's take 3-6 (bench/homework_pdf.py)
PLOTLY_MIME = "application/vnd.plotly.v1+json"


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


class Renderer:
    """Turns notebooks beneath a folder into PDFs, one fresh printer and browser each.

    with Renderer() as renderer:
        pdf_bytes = renderer.pdf(entry.folder, "drafts/ideas.ipynb")

    `home`: a fresh folder for its browsers' profile and launcher, removed on exit.
    """

    def __init__(self, deadline: float = DEADLINE, chromium: Path = CHROMIUM):
        self.deadline, self.chromium = deadline, chromium
        self._folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Renderer:
        if not os.access(self.chromium, os.X_OK):
            raise Unrenderable(
                f"{self.chromium} is missing: install Debian's chromium (apt-get install "
                "chromium, or scripts/debian-deps)"
            )
        # As root, in /tmp: the browser's user must pass through every folder above
        # its profile, and $TMPDIR may be root's own.
        root_tmp = "/tmp" if os.geteuid() == 0 else None
        self._folder = tempfile.TemporaryDirectory(prefix="icslab-pdf-", dir=root_tmp)
        self.home = Path(self._folder.name)
        printer.write_launcher(self.home, self.chromium)
        return self

    def __exit__(self, *exc) -> None:
        if self._folder is not None:
            self._folder.cleanup()

    def pdf(self, folder: Path, relative: str) -> bytes:
        """The PDF of the notebook `relative` beneath `folder` (no link followed)."""
        try:
            found = safe_read.read(folder, relative, MAX_BYTES)
        except safe_read.Refused as refused:
            raise Unrenderable(str(refused).removeprefix(f"{relative}: ")) from None
        page = page_for(found.data)
        job = {"html": page.html, "figures": page.figures, "nonce": page.nonce,
               "home": str(self.home), "deadline": self.deadline}  # fmt: skip
        printer.pid_file(self.home).unlink(missing_ok=True)
        worker = subprocess.Popen(
            [sys.executable, "-m", "icslab.homework.printer"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,  # its group: the printer and Playwright's driver
        )  # fmt: skip
        try:
            pdf, why = worker.communicate(json.dumps(job).encode(), timeout=self.deadline)
        except BaseException as error:
            self._kill(worker)
            if isinstance(error, subprocess.TimeoutExpired):
                raise Unrenderable(f"not rendered within {self.deadline:g} s") from None
            raise
        reason = why.decode(errors="replace").strip().splitlines()
        if worker.returncode == printer.FAILED and reason:
            raise Unrenderable(reason[-1])
        if worker.returncode != 0:  # a crash: its traceback may quote the notebook
            raise Unrenderable("the browser could not render it")
        return pdf

    def _kill(self, worker: subprocess.Popen) -> None:
        """The printer's group first (no browser starts after it), then the browser's
        (Playwright starts it in a group of its own). A printer that finished closed
        its browser itself: only one cut short gets here."""
        with contextlib.suppress(OSError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate()
        with contextlib.suppress(OSError, ValueError):
            os.killpg(int(printer.pid_file(self.home).read_text()), signal.SIGKILL)
