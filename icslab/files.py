"""Files written whole or not at all, and their checksums."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data`, so that readers see the old file or the new one, never
    half of it; the file has `mode` from the start (a secret is never readable by
    others, not even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks (datasets run to hundreds of MB).
    A link is refused, never followed: backups hash what participants left in folders."""
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
