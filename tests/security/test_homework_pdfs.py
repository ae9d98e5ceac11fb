"""Scenarios: an instructor collects homework and gets a PDF of every notebook, with
its outputs and plotly figures, printed by Debian's chromium on the lab server. The
notebooks are the participants': their scripts, images and links must reach nothing
and run nothing, a notebook that cannot be printed is named and skipped, and a link in
the store is never followed. No hub: the hand-in service's code is called directly
(tests/unit/test_homework.py); the browser is real."""

import json
import os
import shutil
import subprocess
import threading
import zipfile
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nbformat
import plotly.graph_objects as go
import psutil
import pytest

from icslab import homework
from icslab.handin import accept
from icslab.handin.store import Store, kind_for
from icslab.homework.accept import accept_homework
from icslab.homework.pdf import CHROMIUM, Renderer
from icslab.waiting import wait_for

TUESDAY = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(what, pytrace=False)  # CI must never pass by skipping these
    pytest.skip(what, allow_module_level=True)


if not CHROMIUM.exists():
    _missing(f"{CHROMIUM} not found: install Debian's chromium (scripts/debian-deps)")
if shutil.which("pdftotext") is None:
    _missing("pdftotext not found: apt-get install poppler-utils (scripts/debian-deps test)")


def markdown(text):
    return nbformat.v4.new_markdown_cell(text)


def shown(data, cell="display(x)"):
    """A code cell whose output carries `data` (mimetype -> value), as saved by Jupyter."""
    output = nbformat.v4.new_output("display_data", data=data)
    return nbformat.v4.new_code_cell(cell, outputs=[output])


def figure(title, **layout):
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.8, 0.2, 0.5]), layout={"title": title, **layout})
    return shown({"application/vnd.plotly.v1+json": fig.to_plotly_json(), "text/plain": "Fig"})


def notebook(*cells) -> dict:
    return json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=list(cells))))


def hand_in(store, team, notebooks):
    """`team` hands in `notebooks` ({path: notebook}) through the service's checks."""
    body = json.dumps({"message": "ours", "notebooks": notebooks}).encode()
    return accept_homework(store, accept.Sender("p01", team, ("p01",)), body, now=TUESDAY)


def text_of(pdf):
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "data" / "submissions")


@pytest.fixture
def listeners():
    """HTTP servers on two loopback addresses that note every request they get."""
    seen: list[str] = []

    class Note(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    servers = [ThreadingHTTPServer((host, 0), Note) for host in ("127.0.0.2", "127.0.0.1")]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://{host}:{port}" for host, port in (s.server_address for s in servers)], seen
    for server in servers:
        server.shutdown()
        server.server_close()


def test_collect_prints_every_notebook_with_its_headings_and_figures(store, tmp_path):
    table = (  # as pandas shows a DataFrame: its style sheet first
        "<style scoped>.dataframe tbody tr th { vertical-align: top; }</style>"
        '<table class="dataframe"><tr><th>tag</th><td>LIT101</td></tr></table>'
    )
    detector = notebook(
        markdown("# Chlorine detector\nEWMA on the residual."),
        figure("EWMA alarms"),
        shown({"text/html": table, "text/plain": "frame"}),
    )
    hand_in(store, "water", {"detector.ipynb": detector, "drafts/ideas.ipynb": notebook(
        markdown("## Ideas for Friday"))})  # fmt: skip
    hand_in(store, "power", {"pump.ipynb": notebook(markdown("# Pump cycles"))})
    steps = []

    folder, archive, problems = homework.collect(
        store, ["power", "water"], tmp_path / "out", now=TUESDAY,
        progress=lambda done, total: steps.append((done, total)),
    )  # fmt: skip

    assert problems == []
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]
    water = text_of(folder / "water" / "detector.pdf")
    assert "Chlorine detector" in water and "EWMA on the residual." in water
    assert "EWMA alarms" in water  # the plotly figure, drawn
    assert "LIT101" in water and "vertical-align" not in water  # the table, not its CSS
    assert "Ideas for Friday" in text_of(folder / "water" / "drafts" / "ideas.pdf")
    assert "Pump cycles" in text_of(folder / "power" / "pump.pdf")
    assert "water/drafts/ideas.pdf" in (folder / "index.html").read_text()
    with zipfile.ZipFile(archive) as zipped:
        assert f"{folder.name}/power/pump.pdf" in zipped.namelist()


def test_a_notebook_that_cannot_be_printed_is_named_and_the_others_are_printed(store, tmp_path):
    hand_in(store, "water", {"detector.ipynb": notebook(markdown("# Water's detector"))})
    # Not valid JSON: the service refuses such a hand-in; a store from an older lab may not.
    store.add("power", kind_for(), {"broken.ipynb": b'{"cells": SECRET-MARKER',
              "pump.ipynb": nbformat.writes(nbformat.v4.new_notebook(cells=[
                  markdown("# Pump cycles")])).encode()}, accept.entry_fields(
                  accept.Sender("p03", "power", ("p03",)), TUESDAY))  # fmt: skip

    folder, _, problems = homework.collect(store, ["power", "water"], tmp_path / "out")

    assert problems == ["team power: broken.ipynb: no PDF (not a notebook nbformat reads)"]
    assert "Pump cycles" in text_of(folder / "power" / "pump.pdf")
    assert "Water's detector" in text_of(folder / "water" / "detector.pdf")
    assert not (folder / "power" / "broken.pdf").exists()
    assert "broken.pdf" not in (folder / "index.html").read_text()


def test_a_notebook_past_its_deadline_is_named_and_its_browser_killed(store, tmp_path):
    # 300,000 points: chromium draws them for about 20 s, the deadline is 5 s.
    endless = go.Figure(go.Scatter(x=list(range(300_000)), y=[i % 97 for i in range(300_000)],
                                   mode="markers"))  # fmt: skip
    slow = shown({"application/vnd.plotly.v1+json": endless.to_plotly_json(), "text/plain": "F"})
    entry = hand_in(store, "water", {"detector.ipynb": notebook(markdown("# Slow"), slow)})
    running, done = [], threading.Event()

    with Renderer(deadline=5) as hurried:

        def browsers():
            return [p for p in psutil.process_iter(["cmdline"]) if str(hurried.home) in
                    " ".join(p.info["cmdline"] or [])]  # fmt: skip

        def watch():
            while not done.wait(0.2):
                running.append(bool(browsers()))

        threading.Thread(target=watch, daemon=True).start()
        try:
            with pytest.raises(homework.pdf.Unrenderable, match=r"not rendered within 5 s"):
                hurried.pdf(entry.folder, "detector.ipynb")
        finally:
            done.set()
        assert any(running)  # the browser was drawing when the deadline came
        wait_for(lambda: not browsers(), timeout=10, what="the killed browser to be gone")


def test_participant_html_and_scripts_reach_nothing_and_run_nothing(store, tmp_path, listeners):
    (near, local), seen = listeners
    attack = (
        f"<img src=\"{near}/img\"><img src=x onerror=\"document.body.append('ONERROR'+'-RAN')\">"
        f"<script>document.body.append('SCRIPT'+'-RAN'); fetch('{local}/fetch')</script>"
        f'<iframe src="{near}/iframe"></iframe><iframe src="file:///etc/passwd"></iframe>'
        f'<link rel="stylesheet" href="{near}/css"><style>@import url({near}/import);</style>'
        f'<meta http-equiv="refresh" content="0;url={near}/refresh">'
        f'<object data="{near}/object"></object><video src="{near}/video"></video>'
        f'<a href="javascript:fetch(\'{near}/js-link\')">link</a><img src="file:///etc/passwd">'
    )
    evil = notebook(
        markdown(f"# Our detector\n{attack}\n![chart]({near}/markdown-image)"),
        shown({"text/html": attack, "text/plain": "x"}),
        shown({"application/javascript": f"document.body.append('JS'+'-RAN'); fetch('{near}/js')"}),
        shown({"image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{near}/svg"'
               ' width="9" height="9"/><script>document.body.append("SVG"+"-RAN")</script></svg>'}),
        shown({"image/png": f'x" onerror="fetch(\'{near}/png\')" src="{near}/png'}),
        figure("Figure drawn", images=[{"source": f"{near}/plotly-image", "x": 0, "y": 0}],
               annotations=[{"text": f'<a href="{near}/plotly-link">a</a>', "x": 1, "y": 1}]),
    )  # fmt: skip
    hand_in(store, "water", {"evil.ipynb": evil})

    folder, _, problems = homework.collect(store, ["water"], tmp_path / "out")

    assert problems == []
    printed = text_of(folder / "water" / "evil.pdf")
    assert "Our detector" in printed and "Figure drawn" in printed  # it did render
    assert "<script>" in printed  # the participant's script, shown as text
    for ran in ("SCRIPT-RAN", "ONERROR-RAN", "JS-RAN", "SVG-RAN"):
        assert ran not in printed
    assert "root:x:0:0" not in printed  # no local file read into the page
    assert seen == []  # nothing reached either loopback listener


def test_links_in_the_store_are_not_followed(store, tmp_path):
    """The store is the hub's alone; were a link put there anyway (a notebook or a
    folder pointing out of it), collect reports the hand-in and reads nothing through it."""
    secret = nbformat.writes(nbformat.v4.new_notebook(cells=[markdown("# SECRET-MARKER")]))
    outside = tmp_path / "outside"
    outside.mkdir()
    entry = hand_in(store, "water", {"detector.ipynb": json.loads(secret)})
    power = hand_in(store, "power", {"drafts/ideas.ipynb": json.loads(secret)}).folder
    # The same bytes out of the store, so the manifest's checksums match: only the links
    # are wrong. A notebook that is a link, and a folder that is one.
    shutil.move(entry.folder / "detector.ipynb", outside / "detector.ipynb")
    (entry.folder / "detector.ipynb").symlink_to(outside / "detector.ipynb")
    shutil.move(power / "drafts", outside / "drafts")
    (power / "drafts").symlink_to(outside / "drafts")

    folder, _, problems = homework.collect(store, ["power", "water"], tmp_path / "out")

    assert sorted(problems) == [
        f"{power / 'drafts/ideas.html'}: missing or changed",
        f"{power / 'drafts/ideas.ipynb'}: missing or changed",
        f"{entry.folder / 'detector.ipynb'}: missing or changed",
    ]
    assert list(folder.rglob("*.pdf")) == []
    with (
        Renderer() as renderer,
        pytest.raises(homework.pdf.Unrenderable, match="drafts is a symbolic link"),
    ):
        renderer.pdf(power, "drafts/ideas.ipynb")
