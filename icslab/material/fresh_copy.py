"""A participant gets the published version of a handed-out file back, keeping their own:
`icslab material fresh 05-network.ipynb` in their JupyterLab terminal, or
`from icslab.material import fresh; fresh("05-network.ipynb")` in a notebook.

Runs in the participant's own server, as them. A pulled workshop is the git clone
nbgitpuller made of the lab's git service ($ICSLAB_GIT_URL); the server's git
environment carries its token. Their version is moved aside next to it with a
timestamp, as nbgitpuller names what it moves aside (`05-network__20261206153012.ipynb`,
`-2`, `-3`... within one second), never deleted or overwritten; the lab's latest
publication of that path is then put in its place. A folder goes the same way, and a
whole workshop folder is cloned afresh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from icslab.errors import InputError
from icslab.lab import GIT_URL_ENV

BRANCH = "main"  # icslab.material.publish.BRANCH
PUBLISHED = f"origin/{BRANCH}"
STAMP = "%Y%m%d%H%M%S"  # nbgitpuller's, for what it moves aside


@dataclass(frozen=True, repr=False)
class Fresh:
    path: Path  # the published version, now in place
    kept: Path | None  # theirs, moved aside (None: they had none there)

    def __repr__(self) -> str:  # what a notebook cell shows, and what the command prints
        if self.kept is None:
            return f"{self.path}: the published version is back"
        return (
            f"{self.path}: the published version is back; yours is kept as {self.kept.name}. "
            "If it was open in JupyterLab, close its tab without saving (saving would write "
            "what the tab shows over the fresh copy), then open it again."
        )


def fresh(path: str | Path) -> Fresh:
    """Put the lab's published version of `path` (a file or folder of a pulled workshop,
    or the workshop folder itself) in place; theirs is kept beside it."""
    target = Path(os.path.abspath(Path(path).expanduser()))
    root = pulled_workshop(target, str(path))
    inside = target.relative_to(root).as_posix()
    if inside == ".git" or inside.startswith(".git/"):
        raise InputError(f"{path}: git's own files, not workshop material")
    _git(root, "fetch", "--quiet", "origin", BRANCH)
    if inside == ".":
        return _fresh_clone(root)
    kind = _git(root, "cat-file", "-t", f"{PUBLISHED}:{inside}", check=False).strip()
    if kind not in ("blob", "tree"):
        published = _git(root, "ls-tree", "--name-only", PUBLISHED).split()
        what = "there is no such file" if not os.path.lexists(target) else "it is yours"
        raise InputError(
            f"{path}: not in the published {root.name} ({what}; nothing to go back to). "
            f"Published in {root.name}/: {', '.join(published)}"
        )
    staged = _stage_blob(root, inside) if kind == "blob" else _stage_tree(root, inside)
    kept = _move_aside(target) if os.path.lexists(target) else None
    if kept is not None and os.path.lexists(target) and kind == "tree":
        target.unlink()  # their file, published as a folder now: kept aside (a hard link)
    os.replace(staged, target)  # atomically over the name theirs just left
    return Fresh(target, kept)


def pulled_workshop(target: Path, said: str) -> Path:
    """The workshop clone (from the lab's git service) that holds `target`."""
    service = os.environ.get(GIT_URL_ENV)
    if not service:
        raise InputError(
            "run this in your JupyterLab (a terminal or a notebook): it needs the lab's "
            "git service, which only participants' servers know"
        )
    for folder in (target, *target.parents):
        if (folder / ".git").is_dir():
            origin = _git(folder, "config", "--get", "remote.origin.url", check=False).strip()
            if origin.startswith(f"{service.rstrip('/')}/"):
                return folder
    raise InputError(
        f"{said}: not inside a workshop pulled from the lab (a folder such as ics-week/ that "
        "a link or your server's start pulled): only those have a published version"
    )


def _stage_blob(root: Path, inside: str) -> Path:
    content = _git_bytes(root, "show", f"{PUBLISHED}:{inside}")
    handle, name = tempfile.mkstemp(prefix=".fresh-", dir=(root / inside).parent)
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    os.chmod(name, 0o644)
    return Path(name)


def _stage_tree(root: Path, inside: str) -> Path:
    """The published folder `inside`, written beside it under a temporary name."""
    staging = Path(tempfile.mkdtemp(prefix=".fresh-", dir=(root / inside).parent))
    try:
        listing = _git_bytes(root, "ls-tree", "-r", "-z", PUBLISHED, "--", f"{inside}/")
        for entry in filter(None, listing.split(b"\0")):
            meta, name = entry.split(b"\t", 1)
            out = staging / Path(os.fsdecode(name)).relative_to(inside)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(_git_bytes(root, "cat-file", "blob", meta.split()[2].decode()))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # only what this call began writing
        raise
    return staging


def _fresh_clone(root: Path) -> Fresh:
    origin = _git(root, "config", "--get", "remote.origin.url").strip()
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-fresh-", dir=root.parent))
    try:
        _git(root.parent, "clone", "--quiet", "--branch", BRANCH, "--", origin, str(staging))
    except InputError:
        shutil.rmtree(staging, ignore_errors=True)  # only the clone just begun
        raise
    kept = _move_aside(root)
    staging.rename(root)
    return Fresh(root, kept)


def _move_aside(path: Path) -> Path:
    """Rename `path` to a timestamped name no file has yet; the new name."""
    stamp = datetime.now().strftime(STAMP)
    suffix = "" if path.is_dir() else path.suffix
    stem = path.name.removesuffix(suffix) if suffix else path.name
    for attempt in range(1, 1000):
        aside = path.with_name(f"{stem}__{stamp}{'' if attempt == 1 else f'-{attempt}'}{suffix}")
        if path.is_dir() and not path.is_symlink():
            if os.path.lexists(aside):
                continue
            path.rename(aside)  # replaces at most an empty folder made meanwhile
            return aside
        try:
            os.link(path, aside, follow_symlinks=False)  # never replaces an existing name
        except FileExistsError:
            continue
        return aside
    raise InputError(f"{path}: too many copies moved aside this second; try again")


def _git(folder: Path, *args: str, check: bool = True) -> str:
    return _git_bytes(folder, *args, check=check).decode(errors="replace")


def _git_bytes(folder: Path, *args: str, check: bool = True) -> bytes:
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=120)
    if check and done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(
            f"git {args[0]} in {folder} failed: {why[-1] if why else done.returncode}; "
            "nothing of yours changed: try again, or ask an instructor if it goes on"
        )
    return done.stdout
