"""Checking a team's homework before the store keeps it (hub side, in the hand-in
service). It reads what a participant sent: parsed, never trusted; notebooks are
re-serialised and rendered to HTML with scripts made inert."""

from __future__ import annotations

import json
from datetime import datetime

from icslab.errors import InputError
from icslab.handin.accept import Sender, entry_fields
from icslab.handin.store import Entry, Store, checked_file_name, kind_for

MAX_NOTEBOOKS = 100
MAX_MESSAGE = 2000  # characters


def accept_homework(
    store: Store, sender: Sender, body: bytes, now: datetime | None = None
) -> Entry:
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
    return store.add(
        sender.team, kind_for(), files, {**entry_fields(sender, now), "message": message}
    )
