"""Checking a team's predictions before the store keeps it (hub side, in the hand-in
service): read against the dataset's own rows, never trusted, and stored re-written
from the dataset's timestamps."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from icslab.capstone.predictions import as_csv, read_submission
from icslab.capstone.targets import target
from icslab.errors import InputError
from icslab.handin.accept import Sender, entry_fields
from icslab.handin.store import Entry, Store, kind_for

PREDICTIONS = "predictions.csv"  # the file an entry of predictions holds


def accept_predictions(
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
    rows = target(dataset, data=data, batadal=batadal)
    if len(body) > max_predictions_bytes(len(rows.cells)):
        raise InputError(f"predictions for {dataset}: too large for its {len(rows.cells):,} rows")
    flags = read_submission(io.BytesIO(body), rows, name=f"predictions for {dataset}")
    fields = {**entry_fields(sender, now), "dataset": dataset}
    fields |= {"rows": len(flags), "alarms": int(flags.sum())}
    csv = as_csv(rows, flags).encode("utf-8")
    return store.add(sender.team, kind_for(dataset), {PREDICTIONS: csv}, fields)


def max_predictions_bytes(rows: int) -> int:
    """A generous cap: a timestamp, a comma and a flag per row, with spaces to spare."""
    return 1024 + 64 * rows
