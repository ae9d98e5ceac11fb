"""An instructor gathers every team's latest hand-in from the lab's store, with an index
and a PDF of each notebook, into a dated folder and a zip."""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.handin.store import Entry, Store, kind_for
from icslab.homework.pdf import Renderer, Unrenderable

# Told (notebooks done, notebooks in all) before the first and after each PDF.
Progress = Callable[[int, int], None]


def collect(
    store: Store,
    teams: list[str],
    out: Path,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    renderer: Callable[[], Renderer] | None = Renderer,
):
    """Copy every team's latest homework from `store` into OUT/homework-<date>/, with a
    PDF beside each notebook, and zip it.

    Returns (folder, zip, problems); teams without a valid hand-in are listed in
    index.html and in problems, the others are still collected. A notebook without a
    PDF is in problems; the others still get theirs. `renderer=None`: no PDFs."""
    now = now or datetime.now(UTC)
    name = f"homework-{now.strftime('%Y-%m-%dT%H%M%SZ')}"
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    rows: list[tuple[str, Entry | None]] = []
    problems: list[str] = []
    try:
        for team in sorted(teams):
            try:
                entry = store.latest(team, kind_for())
            except InputError as error:
                rows.append((team, None))
                problems += error.problems
                continue
            if entry is None:
                rows.append((team, None))
                problems.append(f"team {team}: no submission yet")
                continue
            shutil.copytree(entry.folder, staging / team, symlinks=True)
            rows.append((team, entry))
        if renderer is not None:
            problems += _pdfs(rows, staging, progress or (lambda done, total: None), renderer)
        (staging / "index.html").write_text(_index(rows, now, staging), encoding="utf-8")
        folder = out / name
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    archive = Path(shutil.make_archive(str(out / f".{name}"), "zip", out, name))
    final_zip = archive.with_name(f"{name}.zip")
    archive.rename(final_zip)
    return folder, final_zip, problems


def pdf_name(notebook: str) -> str:
    return str(PurePosixPath(notebook).with_suffix(".pdf"))


def _pdfs(
    rows: list[tuple[str, Entry | None]],
    staging: Path,
    progress: Progress,
    renderer: Callable[[], Renderer],
) -> list[str]:
    """Each collected notebook's PDF beside its copy; the reasons of those without."""
    notebooks = [
        (team, entry, name)
        for team, entry in rows
        if entry is not None
        for name in sorted(entry.manifest["files"])
        if name.endswith(".ipynb")
    ]
    problems: list[str] = []
    progress(0, len(notebooks))
    if not notebooks:
        return problems
    try:
        with renderer() as pdf:
            for done, (team, entry, name) in enumerate(notebooks, 1):
                try:  # from the store, checked (verify), never from the copy
                    write_atomic(
                        staging / team / pdf_name(name), pdf.pdf(entry.folder, name), 0o644
                    )
                except Unrenderable as reason:
                    problems.append(f"team {team}: {name}: no PDF ({reason})")
                progress(done, len(notebooks))
    except Unrenderable as reason:  # no browser at all: the rest is collected still
        problems.append(f"no PDFs: {reason}")
    return problems


def _index(rows: list[tuple[str, Entry | None]], now: datetime, folder: Path) -> str:
    lines = [
        "<!doctype html><meta charset='utf-8'><title>Homework</title>",
        f"<h1>Homework collected {html.escape(now.isoformat(timespec='seconds'))}</h1>",
        "<table border='1' cellpadding='4'><tr><th>team</th><th>submitted</th>"
        "<th>by</th><th>version</th><th>message</th><th>files</th></tr>",
    ]
    for team, entry in rows:
        if entry is None:
            lines.append(f"<tr><td>{html.escape(team)}</td><td colspan='5'>none</td></tr>")
            continue
        manifest = entry.manifest
        files = sorted(manifest["files"])
        # A PDF whose notebook could not be rendered is not linked: it is not there.
        files += [
            pdf_name(f)
            for f in files
            if f.endswith(".ipynb")
            if (folder / team / pdf_name(f)).exists()
        ]
        links = " ".join(
            f"<a href='{html.escape(team)}/{html.escape(file)}'>{html.escape(file)}</a>"
            for file in files
        )
        cells = [team, manifest["submitted_at"], manifest["submitter"], str(entry.number)]
        cells.append(manifest.get("message", ""))
        lines.append(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{links}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines) + "\n"
