"""`icslab restore`: put a backup back into an empty (or absent) data dir.

The backup is copied into a staging folder beside the data dir, the copy is
compared with the manifest (every file's mode, size and sha256, every folder and
link) and its database and password store are checked; only then is it renamed
into place. A damaged backup, or a data dir with anything in it, is refused and
nothing is changed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from icslab.backup import manifest
from icslab.backup.tree import copy_tree
from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.hub.state_check import damaged_parts
from icslab.lab import LabPaths


def restore(backup: Path, data_dir: Path) -> dict:
    """Restore `backup` into `data_dir`; returns its manifest."""
    made = manifest.read(backup)
    target = data_dir.absolute()
    if target.resolve().is_relative_to(backup.resolve()):  # it would copy itself
        raise InputError(f"--data-dir {data_dir}: inside the backup; choose a folder outside it")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(
            f"{target} is not empty: a backup goes only into an empty or new data dir, so "
            f"nothing was changed. Move it aside first (`mv {target} {target}.old`) or "
            "choose another --data-dir"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))
    try:
        copy_tree(backup, staging, skip=lambda path: path == PurePosixPath(manifest.MANIFEST))
        problems = manifest.differences(made["entries"], manifest.describe(staging))
        problems = problems or damaged_parts(LabPaths(staging))
        if problems:
            raise InputError(
                f"{backup}: damaged or changed since it was made, so nothing was restored",
                *problems,
            )
        _moved_to(staging / "lab.json", target)
        if target.exists():
            target.rmdir()  # fails if something arrived meanwhile: nothing is overwritten
        staging.rename(target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        where = error.filename or target
        raise InputError(f"nothing was restored: {where}: {error.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return made


def _moved_to(lab_file: Path, data_dir: Path) -> None:
    """Commands read the data dir from lab.json until `icslab up` rewrites it: point
    it here, not at the lab the backup came from."""
    try:
        lab = json.loads(lab_file.read_text("utf-8"))
    except (OSError, ValueError):
        return
    lab["data_dir"] = str(data_dir)
    write_atomic(
        lab_file, json.dumps(lab, indent=2).encode("utf-8"), lab_file.stat().st_mode & 0o777
    )
