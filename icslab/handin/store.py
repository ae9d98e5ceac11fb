"""The hand-in store: what teams handed in, kept by the hub.

    DATA_DIR/submissions/<team>/homework/NNN/            manifest.json, notebooks, HTML
    DATA_DIR/submissions/<team>/capstone/<dataset>/NNN/  manifest.json, predictions.csv

Only the hand-in service writes here, as the hub's user; no container mounts it.
Each entry is written in a staging folder and renamed into place, so it is complete
or absent; numbers only grow and nothing is ever replaced. `collect` and the
leaderboard read the latest entry of each team, checked against its manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from icslab import safe_read
from icslab.errors import InputError
from icslab.space import require_room

MANIFEST = "manifest.json"
HOMEWORK = "homework"
CAPSTONE = "capstone"
# A team hands in at most this many versions of one kind: the disk is shared.
MAX_VERSIONS = 50
# A stored file: at most what one hand-in (64 MiB) becomes as HTML.
MAX_FILE_BYTES = 256 << 20
ENTRY = re.compile(r"^\d{3,}$")
# Team names as the roster allows them; dataset names as the datasets' folders.
SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# What a handed-in file may be called: printable, no separators, no leading dot.
FILE_PART = re.compile(r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,199}$")


def kind_for(dataset: str | None = None) -> str:
    """`homework`, or `capstone/<dataset>` for predictions."""
    return HOMEWORK if dataset is None else f"{CAPSTONE}/{dataset}"


def checked_file_name(name: str) -> PurePosixPath:
    """A handed-in file's relative path, if it stays inside its entry."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or len(path.parts) > 8:
        raise InputError(f"{name!r}: not a file name inside your team folder")
    bad = [part for part in path.parts if not FILE_PART.match(part)]
    if bad or path.name == MANIFEST:
        raise InputError(
            f"{name!r}: use folder and file names without a leading dot or control "
            f"characters (and not {MANIFEST})"
        )
    return path


@dataclass(frozen=True)
class Entry:
    """One hand-in: its folder and its manifest (checked against the files)."""

    folder: Path
    manifest: dict

    @property
    def number(self) -> int:
        return int(self.folder.name)

    def receipt(self) -> dict:
        """What the participant is told: the manifest without the checksums."""
        shown = {k: v for k, v in self.manifest.items() if k != "files"}
        return {**shown, "number": self.number, "files": sorted(self.manifest["files"])}


class Store:
    def __init__(self, root: Path):
        self.root = root

    def folder(self, team: str, kind: str) -> Path:
        parts = kind.split("/")
        if not SEGMENT.match(team) or not all(SEGMENT.match(part) for part in parts):
            raise InputError(f"{team!r}/{kind!r}: not a team and kind of hand-in")
        return self.root.joinpath(team, *parts)

    def add(self, team: str, kind: str, files: dict[str, bytes], fields: dict) -> Entry:
        """Store `files` with a manifest of `fields` + their checksums as the next entry.
        The same as the latest entry (bar its time) adds nothing: the latest is returned."""
        digests = {str(checked_file_name(name)): _sha256(data) for name, data in files.items()}
        manifest = {**fields, "files": digests}
        latest = self.latest(team, kind)
        if latest is not None and _untimed(latest.manifest) == _untimed(manifest):
            return latest
        area = self.folder(team, kind)
        require_room(self.root, sum(len(data) for data in files.values()), "this hand-in")
        if len(self.versions(team, kind)) >= MAX_VERSIONS:
            raise InputError(
                f"team {team} has handed in {MAX_VERSIONS} versions of its {kind}: that is the "
                "most the lab keeps; ask an instructor"
            )
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        area.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=area))
        try:
            for name, data in files.items():
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
            return Entry(_rename_into_place(staging, area), manifest)
        except OSError as error:
            raise InputError(f"the lab could not store this hand-in: {error.strerror}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def versions(self, team: str, kind: str) -> list[Path]:
        """A team's entries of one kind, oldest first."""
        area = self.folder(team, kind)
        if not area.is_dir():
            return []
        return sorted((p for p in area.iterdir() if ENTRY.match(p.name)), key=lambda p: int(p.name))

    def latest(self, team: str, kind: str) -> Entry | None:
        found = self.versions(team, kind)
        return verify(found[-1]) if found else None

    def datasets(self, team: str) -> list[str]:
        """The datasets a team handed in predictions for."""
        area = self.folder(team, CAPSTONE)
        if not area.is_dir():
            return []
        return sorted(p.name for p in area.iterdir() if SEGMENT.match(p.name))

    def teams(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if SEGMENT.match(p.name))


def _rename_into_place(staging: Path, area: Path) -> Path:
    found = [int(p.name) for p in area.iterdir() if ENTRY.match(p.name)]
    number = max(found, default=0) + 1
    while True:  # another member may hand in at the same moment: take the next number
        final = area / f"{number:03d}"
        try:
            staging.rename(final)  # fails if the name exists (a non-empty folder)
            final.chmod(0o700)
            return final
        except OSError:
            if not final.exists():
                raise
            number += 1


def _untimed(manifest: dict) -> dict:
    return {key: value for key, value in manifest.items() if key != "submitted_at"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(folder: Path) -> Entry:
    """The entry in `folder`, if every file its manifest names is there unchanged,
    reached without following a link (safe_read)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{folder}: unreadable manifest") from None
    bad = [name for name in files if not _unchanged(folder, name, files[name])]
    if bad:
        raise InputError(*(f"{folder / name}: missing or changed" for name in bad))
    return Entry(folder, manifest)


def _unchanged(folder: Path, name: str, digest: str) -> bool:
    try:
        return _sha256(safe_read.read(folder, name, MAX_FILE_BYTES).data) == digest
    except safe_read.Refused:
        return False
