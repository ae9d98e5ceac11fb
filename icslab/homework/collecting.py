"""An instructor gathers every team's latest hand-in from the lab's store, with an index,
into a dated folder and a zip."""

from __future__ import annotations

import html
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from icslab.errors import InputError
from icslab.handin.store import Entry, Store, kind_for


def collect(store: Store, teams: list[str], out: Path, *, now: datetime | None = None):
    """Copy every team's latest homework from `store` into OUT/homework-<date>/ and zip it.

    Returns (folder, zip, problems); teams without a valid hand-in are listed in
    index.html and in problems, the others are still collected."""
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
        (staging / "index.html").write_text(_index(rows, now), encoding="utf-8")
        folder = out / name
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    archive = Path(shutil.make_archive(str(out / f".{name}"), "zip", out, name))
    final_zip = archive.with_name(f"{name}.zip")
    archive.rename(final_zip)
    return folder, final_zip, problems


def _index(rows: list[tuple[str, Entry | None]], now: datetime) -> str:
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
        links = " ".join(
            f"<a href='{html.escape(team)}/{html.escape(file)}'>{html.escape(file)}</a>"
            for file in manifest["files"]
        )
        cells = [team, manifest["submitted_at"], manifest["submitter"], str(entry.number)]
        cells.append(manifest.get("message", ""))
        lines.append(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{links}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines) + "\n"
