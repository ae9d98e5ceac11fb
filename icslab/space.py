"""Room on the lab's disk: the hub keeps the last of it for logins.

On a full disk SQLite cannot record a login's session and nobody gets in. So
what the lab writes on request (hand-ins, publications, passwords) first checks
that it leaves RESERVE free, and is refused with a message otherwise: nothing is
half-written, and nothing already stored is touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from icslab.errors import InputError

RESERVE = 64 * 1024 * 1024  # bytes the hub's database may still grow into
MB = 1024 * 1024


def require_room(folder: Path, size: int, what: str) -> None:
    """InputError unless writing `size` bytes under `folder` leaves RESERVE free."""
    existing = Path(folder)
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < size + RESERVE:
        raise InputError(
            f"{what}: the lab's disk is full ({free / MB:.0f} MB free, and the hub keeps "
            f"{RESERVE // MB} MB for logins), so nothing was stored. An instructor must "
            "free space on the lab server; then try again"
        )
