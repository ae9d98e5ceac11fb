"""Checking a hand-in before the store keeps it (hub side).

Everything here reads what a participant sent: it is parsed, never trusted, and
what is stored is rewritten by the lab (notebooks re-serialised, predictions
re-written from the dataset's own timestamps). Who handed it in and for which
team come from the caller (the hub), never from the hand-in.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from icslab.errors import InputError
from icslab.handin.store import Entry, Store, checked_file_name, kind_for

MAX_BYTES = 64 * 1024 * 1024  # one hand-in: a team's notebooks with their outputs
MAX_NOTEBOOKS = 100
PREDICTIONS = "predictions.csv"
MAX_MESSAGE = 2000  # characters


@dataclass(frozen=True)
class Sender:
    """Who hands in, as the hub says: the user, their team and its members."""

    user: str
    team: str
    members: tuple[str, ...]


def _fields(sender: Sender, now: datetime | None) -> dict:
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "team": sender.team,
        "members": list(sender.members),
        "submitter": sender.user,
        "submitted_at": when,
    }


def homework(store: Store, sender: Sender, body: bytes, now: datetime | None = None) -> Entry:
    """Body: JSON {"message": str, "notebooks": {relative path: notebook}}. Each
    notebook must be one nbformat reads; it is stored as .ipynb and as HTML."""
    import nbformat
    from nbconvert import HTMLExporter

    try:
        payload = json.loads(body)
        message, notebooks = payload.get("message", ""), payload["notebooks"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError('send JSON: {"message": "...", "notebooks": {path: notebook}}') from None
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise InputError(f"the message must be text of at most {MAX_MESSAGE} characters")
    if not isinstance(notebooks, dict) or not 0 < len(notebooks) <= MAX_NOTEBOOKS:
        raise InputError(f"hand in 1 to {MAX_NOTEBOOKS} notebooks")
    # Scripts in participants' notebooks never run where instructors open the HTML.
    exporter = HTMLExporter(sanitize_html=True)
    files: dict[str, bytes] = {}
    problems = []
    for name, content in sorted(notebooks.items()):
        path = checked_file_name(name)
        if path.suffix != ".ipynb":
            problems.append(f"{name}: not a notebook (.ipynb)")
            continue
        try:
            notebook = nbformat.reads(json.dumps(content), as_version=4)
            nbformat.validate(notebook)
            html, _ = exporter.from_notebook_node(notebook)
        except Exception:  # whatever nbformat or nbconvert finds wrong
            # The reason may quote the notebook: name the file, never its contents.
            problems.append(f"{name}: not a notebook JupyterLab can open; save it again there")
            continue
        files[str(path)] = nbformat.writes(notebook).encode("utf-8")
        files[str(path.with_suffix(".html"))] = html.encode("utf-8")
    if problems:
        raise InputError(*problems)
    return store.add(sender.team, kind_for(), files, {**_fields(sender, now), "message": message})


def predictions(
    store: Store,
    sender: Sender,
    dataset: str,
    body: bytes,
    *,
    data: Path,
    batadal: Path | None = None,
    now: datetime | None = None,
) -> Entry:
    """Body: the CSV `icslab.capstone.submit` writes (one 0/1 flag per row of the
    dataset). Stored re-written from the dataset's own timestamps."""
    from icslab.capstone import as_csv, read_submission, target

    rows = target(dataset, data=data, batadal=batadal)
    if len(body) > max_predictions_bytes(len(rows.cells)):
        raise InputError(f"predictions for {dataset}: too large for its {len(rows.cells):,} rows")
    flags = read_submission(io.BytesIO(body), rows, name=f"predictions for {dataset}")
    fields = {**_fields(sender, now), "dataset": dataset}
    fields |= {"rows": len(flags), "alarms": int(flags.sum())}
    csv = as_csv(rows, flags).encode("utf-8")
    return store.add(sender.team, kind_for(dataset), {PREDICTIONS: csv}, fields)


def max_predictions_bytes(rows: int) -> int:
    """A generous cap: a timestamp, a comma and a flag per row, with spaces to spare."""
    return 1024 + 64 * rows
