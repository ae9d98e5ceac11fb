"""A backup's manifest: every file (mode, size, sha256), folder (mode) and link
(target) beneath it, so a restore can tell a complete, unchanged backup from a
damaged one before it puts anything in place."""

from __future__ import annotations

import json
import os
from pathlib import Path
from stat import S_IMODE, S_ISDIR, S_ISLNK

from icslab.errors import InputError
from icslab.files import file_sha256

MANIFEST = "manifest.json"
FORMAT = 1
# A damaged backup is named file by file, up to this many.
SHOWN = 20


def describe(folder: Path) -> dict[str, dict]:
    """{relative path: {"link": target} | {"dir": mode} | {"mode", "size", "sha256"}}
    for everything beneath `folder` but its manifest; links are never followed."""
    found: dict[str, dict] = {}

    def walk(path: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(path), key=lambda entry: entry.name):
            relative = prefix + entry.name
            info = entry.stat(follow_symlinks=False)
            mode = f"{S_IMODE(info.st_mode):04o}"
            if S_ISLNK(info.st_mode):
                found[relative] = {"link": os.readlink(entry.path)}
            elif S_ISDIR(info.st_mode):
                found[relative] = {"dir": mode}
                walk(Path(entry.path), relative + "/")
            elif relative != MANIFEST:
                digest = file_sha256(Path(entry.path))
                found[relative] = {"mode": mode, "size": info.st_size, "sha256": digest}

    walk(folder, "")
    return found


def write(folder: Path, fields: dict) -> dict:
    """Describe `folder` and write its manifest there (0600); returns the manifest."""
    entries = describe(folder)
    sizes = [entry["size"] for entry in entries.values() if "size" in entry]
    manifest = {"icslab_backup": FORMAT, **fields, "files": len(sizes), "bytes": sum(sizes),
                "entries": entries}  # fmt: skip
    fd = os.open(folder / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=1)
    return manifest


def read(folder: Path) -> dict:
    """The manifest of the backup in `folder`; InputError if there is none that reads."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("icslab_backup") != FORMAT or not isinstance(manifest["entries"], dict):
            raise ValueError
    except FileNotFoundError:
        found = sorted(folder.glob("icslab-backup-*/" + MANIFEST))
        hint = f" (the latest here: {found[-1].parent})" if found else ""
        raise InputError(f"{folder}: not a backup, it has no {MANIFEST}{hint}") from None
    except (OSError, ValueError, KeyError, AttributeError):
        raise InputError(f"{folder}/{MANIFEST}: unreadable, not a manifest icslab wrote") from None
    return manifest


def differences(expected: dict[str, dict], found: dict[str, dict]) -> list[str]:
    """What `found` (a describe()) lacks, adds or changed compared with the manifest."""
    problems = [f"{path}: missing" for path in expected if path not in found]
    problems += [f"{path}: not in the manifest" for path in found if path not in expected]
    for path, entry in expected.items():
        if path in found and found[path] != entry:
            what = [key for key in entry.keys() | found[path].keys()
                    if entry.get(key) != found[path].get(key)]  # fmt: skip
            problems.append(f"{path}: {', '.join(sorted(what))} changed")
    if len(problems) > SHOWN:
        problems[SHOWN:] = [f"... and {len(problems) - SHOWN} more"]
    return problems
