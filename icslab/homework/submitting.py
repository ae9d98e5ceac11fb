"""A team member hands in the team's notebooks, from their own server."""

from __future__ import annotations

import json
import os
from pathlib import Path

from icslab.errors import InputError
from icslab.handin import client
from icslab.handin.accept import MAX_BYTES

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
    notebooks_by_path: dict[str, object] = {}
    for path in notebooks:
        try:
            content = json.loads(path.read_bytes())
        except (OSError, ValueError):
            raise InputError(f"{path}: not a notebook (open and save it in JupyterLab)") from None
        notebooks_by_path[path.relative_to(folder).as_posix()] = content
    body = json.dumps({"message": message, "notebooks": notebooks_by_path}).encode("utf-8")
    if len(body) > MAX_BYTES:
        sizes = sorted(notebooks, key=lambda p: p.stat().st_size, reverse=True)[:3]
        raise InputError(
            f"{len(body) / 2**20:.0f} MiB of notebooks; the lab takes {MAX_BYTES / 2**20:.0f} MiB: "
            f"clear the outputs of the biggest ({', '.join(p.name for p in sizes)}) and retry"
        )
    return client.hand_in("homework", body, "application/json")
