"""Team homework: a member hands in the team's notebooks, an instructor collects them.

    icslab homework submit [--message M]     # in a participant's terminal
    icslab.homework.submit(message="...")     # or from a notebook
    icslab homework collect [--out DIR]       # on the lab server

`submit` sends every notebook in the team folder ($ICSLAB_TEAM_DIR) to the lab's
hand-in service, which checks them, renders them as HTML and keeps them as the
team's next version (icslab.handin). `collect` copies each team's latest version
from the lab's hand-in store, checked against its manifest, into a dated folder
with an index.html, and zips it. Nothing here reads a participant's folder as
the lab: participants hand in, the lab never goes fishing.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from icslab.errors import InputError
from icslab.handin import client
from icslab.handin.accept import MAX_BYTES
from icslab.handin.store import Entry, Store, kind_for

SKIPPED_PARTS = {".submissions", ".ipynb_checkpoints", "capstone"}


def team_folder() -> Path:
    """The team folder of the server this runs in (from the hub's environment)."""
    folder = os.environ.get("ICSLAB_TEAM_DIR", "")
    if not os.environ.get("ICSLAB_TEAM") or not folder:
        raise InputError(
            "no team here: run this in a participant's JupyterLab (terminal or notebook), "
            "where the hub sets ICSLAB_TEAM and ICSLAB_TEAM_DIR"
        )
    return Path(folder)


def team_notebooks(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*.ipynb")
        if not SKIPPED_PARTS.intersection(path.relative_to(folder).parts)
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def submit(message: str = "", team: str | None = None) -> dict:
    """Hand in the team's notebooks; returns the lab's receipt (team, number, files)."""
    client.check_team(team)
    folder = team_folder()
    notebooks = team_notebooks(folder)
    if not notebooks:
        raise InputError(
            f"{folder}: no notebooks to submit; save your team's notebooks in the team folder first"
        )
    payload = {"message": message, "notebooks": {}}
    for path in notebooks:
        try:
            content = json.loads(path.read_bytes())
        except (OSError, ValueError):
            raise InputError(f"{path}: not a notebook (open and save it in JupyterLab)") from None
        payload["notebooks"][path.relative_to(folder).as_posix()] = content
    body = json.dumps(payload).encode("utf-8")
    if len(body) > MAX_BYTES:
        sizes = sorted(notebooks, key=lambda p: p.stat().st_size, reverse=True)[:3]
        raise InputError(
            f"{len(body) / 2**20:.0f} MiB of notebooks; the lab takes {MAX_BYTES / 2**20:.0f} MiB: "
            f"clear the outputs of the biggest ({', '.join(p.name for p in sizes)}) and retry"
        )
    return client.hand_in("homework", body, "application/json")


def collect(store: Store, teams: list[str], out: Path, *, now: datetime | None = None):
    """Copy every team's latest homework from `store` into OUT/homework-<date>/ and zip it.

    Returns (folder, zip, problems); teams without a valid hand-in are listed in
    index.html and in problems, the others are still collected."""
    now = now or datetime.now(UTC)
    name = f"homework-{now.strftime('%Y-%m-%dT%H%M%SZ')}"
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    rows, problems = [], []
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
