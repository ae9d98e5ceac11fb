"""Team homework: a member submits the team's notebooks, an instructor collects them.

    icslab homework submit [--team T] [--message M]     # in a participant's terminal
    icslab.homework.submit(message="...")               # or from a notebook
    icslab homework collect [--out DIR]                  # on the lab server

A submission exports every notebook in the team folder ($ICSLAB_TEAM_DIR, set
by the hub) as .ipynb and HTML (nbconvert, outputs as saved) with a
manifest.json (team, members, submitter, time, message, sha256 of each file)
into `<team folder>/.submissions/NNN-<UTC time>/`. It is written in a staging
folder and renamed into place, so a submission is complete or absent; a new
one adds a version and never touches the old ones. `collect` copies each
team's latest submission, checked against its manifest, into a dated folder
with an index.html, and zips it.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from icslab.errors import InputError

SUBMISSIONS = ".submissions"
MANIFEST = "manifest.json"
SKIPPED_PARTS = {SUBMISSIONS, ".ipynb_checkpoints", "capstone"}


@dataclass(frozen=True)
class Team:
    name: str
    members: list[str]
    folder: Path


def current_team(requested: str | None = None) -> Team:
    """The team of the server this runs in (from the hub's environment)."""
    name = os.environ.get("ICSLAB_TEAM", "")
    folder = os.environ.get("ICSLAB_TEAM_DIR", "")
    if not name or not folder:
        raise InputError(
            "no team here: run this in a participant's JupyterLab (terminal or notebook), "
            "where the hub sets ICSLAB_TEAM and ICSLAB_TEAM_DIR"
        )
    if requested and requested != name:
        raise InputError(
            f"--team {requested!r}: you are in team {name!r} and can only submit for it"
        )
    members = [m for m in os.environ.get("ICSLAB_TEAM_MEMBERS", "").split(",") if m]
    return Team(name, members, Path(folder))


def team_notebooks(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*.ipynb")
        if not SKIPPED_PARTS.intersection(path.relative_to(folder).parts)
    )


def submit(message: str = "", team: str | None = None, *, now: datetime | None = None) -> Path:
    """Submit the team's notebooks; returns the new submission's folder."""
    from nbconvert import HTMLExporter

    chosen = current_team(team)
    notebooks = team_notebooks(chosen.folder)
    if not notebooks:
        raise InputError(
            f"{chosen.folder}: no notebooks to submit; save your team's notebooks in the "
            "team folder first"
        )
    now = now or datetime.now(UTC)
    area = chosen.folder / SUBMISSIONS
    area.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=area))
    try:
        exporter = HTMLExporter()
        files = []
        for notebook in notebooks:
            relative = notebook.relative_to(chosen.folder)
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, target)
            body, _ = exporter.from_filename(str(notebook))
            target.with_suffix(".html").write_text(body, encoding="utf-8")
            files += [target, target.with_suffix(".html")]
        manifest = {
            "team": chosen.name,
            "members": chosen.members,
            "submitter": os.environ.get("JUPYTERHUB_USER", ""),
            "submitted_at": now.isoformat(timespec="seconds"),
            "message": message,
            "files": {
                path.relative_to(staging).as_posix(): sha256_of(path) for path in sorted(files)
            },
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return _rename_into_place(staging, area, now)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _rename_into_place(staging: Path, area: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    number = len(versions(area)) + 1
    while True:  # another member may submit at the same moment: take the next number
        final = area / f"{number:03d}-{stamp}"
        try:
            staging.rename(final)  # fails if the name exists (a non-empty folder)
            return final
        except OSError:
            if not final.exists():
                raise
            number += 1


def versions(area: Path) -> list[Path]:
    """A team's submissions, oldest first (staging folders are not submissions)."""
    if not area.is_dir():
        return []
    return sorted(p for p in area.iterdir() if p.is_dir() and p.name[:3].isdigit())


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(submission: Path) -> dict:
    """The manifest of a submission whose every file matches its checksum."""
    try:
        manifest = json.loads((submission / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{submission}: unreadable manifest: {error}") from None
    bad = [
        name
        for name, digest in manifest.get("files", {}).items()
        if not (submission / name).is_file() or sha256_of(submission / name) != digest
    ]
    if bad:
        raise InputError(*(f"{submission / name}: missing or changed" for name in bad))
    return manifest


def collect(team_folders: dict[str, Path], out: Path, *, now: datetime | None = None):
    """Copy every team's latest submission into OUT/homework-<date>/ and zip it.

    Returns (folder, zip, problems); teams without a valid submission are listed in
    index.html and in problems, the others are still collected."""
    now = now or datetime.now(UTC)
    name = f"homework-{now.strftime('%Y-%m-%dT%H%M%SZ')}"
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    rows, problems = [], []
    try:
        for team, folder in sorted(team_folders.items()):
            found = versions(folder / SUBMISSIONS)
            if not found:
                rows.append((team, None, None))
                problems.append(f"team {team}: no submission yet")
                continue
            try:
                manifest = verify(found[-1])
            except InputError as error:
                rows.append((team, None, None))
                problems += error.problems
                continue
            shutil.copytree(found[-1], staging / team)
            rows.append((team, manifest, len(found)))
        (staging / "index.html").write_text(_index(rows, now), encoding="utf-8")
        folder = out / name
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    archive = Path(shutil.make_archive(str(out / f".{name}"), "zip", out, name))
    final_zip = archive.with_name(f"{name}.zip")
    archive.rename(final_zip)
    return folder, final_zip, problems


def _index(rows, now: datetime) -> str:
    lines = [
        "<!doctype html><meta charset='utf-8'><title>Homework</title>",
        f"<h1>Homework collected {html.escape(now.isoformat(timespec='seconds'))}</h1>",
        "<table border='1' cellpadding='4'><tr><th>team</th><th>submitted</th>"
        "<th>by</th><th>versions</th><th>message</th><th>files</th></tr>",
    ]
    for team, manifest, count in rows:
        if manifest is None:
            lines.append(f"<tr><td>{html.escape(team)}</td><td colspan='5'>none</td></tr>")
            continue
        links = " ".join(
            f"<a href='{html.escape(team)}/{html.escape(file)}'>{html.escape(file)}</a>"
            for file in manifest["files"]
        )
        cells = [team, manifest["submitted_at"], manifest["submitter"], str(count)]
        cells.append(manifest.get("message", ""))
        lines.append(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{links}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines) + "\n"
