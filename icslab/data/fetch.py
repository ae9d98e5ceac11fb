"""Download public datasets into a local cache, verified by sha256.

Each file is written under a temporary name in the cache and renamed into place
only once its checksum matches, so the cache never holds a partial or altered
file, even when two fetches run at once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Mapping
from http.client import HTTPException
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from icslab.errors import InputError
from icslab.files import file_sha256

BATADAL_URL = "https://www.batadal.net/data/"
BATADAL_SHA256 = {
    "BATADAL_dataset03.csv": "8ca6cb851242254d2605b5a53ba3ba5009e2213a545d65396615f1ce0b426e1b",
    "BATADAL_dataset04.csv": "4746beab2cfcdb5e68c7fa197a7522aecb70189d61dcc3eb1f870d2ce387068b",
    "BATADAL_test_dataset.csv": "184dfc1581df52193b2acb79164f7ce094f2bb00b1bc2e3c2e70050095065fa5",
}
URL_SCHEMES = ("http", "https", "ftp", "file")
TIMEOUT_SECONDS = 60
CHUNK_BYTES = 1 << 20


def fetch_batadal(cache_dir: str | Path, source: str | Path | None = None) -> list[Path]:
    """The three BATADAL CSVs in `cache_dir`, fetched from `source` if missing.

    `source` is a base URL (default: the competition site) or a local folder.
    """
    return fetch_files(BATADAL_SHA256, cache_dir, BATADAL_URL if source is None else source)


def fetch_files(files: Mapping[str, str], cache_dir: str | Path, source: str | Path) -> list[Path]:
    """Each `name: sha256` of `files` in `cache_dir`, fetched from `source` if missing.

    Files already cached with the right checksum are not fetched again. Every
    file that cannot be fetched or does not match is reported in one InputError;
    the files that did match stay in the cache.
    """
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{cache_dir}: cannot create the cache folder: {error}") from None
    problems: list[str] = []
    for name, sha256 in files.items():
        target = cache_dir / name
        if target.is_file() and file_sha256(target) == sha256:
            continue
        try:
            _download(_location(source, name), target, sha256)
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(*problems)
    return [cache_dir / name for name in files]


def verify_file(path: str | Path, sha256: str) -> None:
    """Raise InputError unless `path` exists with this sha256."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    actual = file_sha256(path)
    if actual != sha256:
        raise InputError(f"{path}: sha256 is {actual}, expected {sha256}")


def _location(source: str | Path, name: str) -> str | Path:
    if isinstance(source, str) and urlsplit(source).scheme in URL_SCHEMES:
        return urljoin(source.rstrip("/") + "/", name)
    return Path(source) / name


def _download(location: str | Path, target: Path, sha256: str) -> None:
    try:
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as error:
        raise InputError(f"{target.name}: cannot write into {target.parent}: {error}") from None
    partial = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as written, _open(location) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                digest.update(chunk)
                written.write(chunk)
        if digest.hexdigest() != sha256:
            raise InputError(
                f"{target.name} from {location}: sha256 is {digest.hexdigest()}, "
                f"expected {sha256}: the copy is truncated or not the published file"
            )
        # Temporary files are private (0600); the cache is read by other users.
        partial.chmod(0o644)
        partial.replace(target)
    except (OSError, HTTPException, ValueError) as error:
        raise InputError(f"{target.name}: cannot fetch it from {location}: {error}") from None
    finally:
        partial.unlink(missing_ok=True)


def _open(location: str | Path):
    if isinstance(location, Path):
        return location.open("rb")
    return urllib.request.urlopen(location, timeout=TIMEOUT_SECONDS)
