"""`icslab publish`: commit a workshop's participant version to the lab's git repository.

The repository is bare, `DATA_DIR/git/<workshop>.git`, with one branch `main`.
A publication is one commit whose tree is exactly the participant version (so a
file removed from the workshop disappears for those who pull again): the
participant build of the manifest's notebooks, the README generated from the
manifest, the manifest itself, and every other file of the workshop's folder
(data, diagrams, helper modules, handouts) except what `.publishignore` or the
manifest's `exclude` leaves out (gitignore-style patterns) and what is never
published (ALWAYS_LEFT_OUT: solution folders, checkpoints, caches).

Nothing is committed if the build fails, if a notebook carries a solution cell,
if the folder holds a notebook the manifest does not list or a symlink, or if
the tree is unchanged; the branch moves by compare-and-swap, so two
publications at once cannot lose one another's commit.
"""

from __future__ import annotations

import getpass
import os
import socket
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pathspec
from dulwich.index import commit_tree
from dulwich.objects import Blob, Commit, ObjectID
from dulwich.refs import HEADREF, Ref
from dulwich.repo import Repo

from icslab.errors import InputError
from icslab.notebooks.build import build_workshop
from icslab.notebooks.manifest import MANIFEST, WORKSHOPS, Workshop, load_workshop
from icslab.notebooks.variants import PARTICIPANT, contains_solutions
from icslab.safe_read import Refused, read
from icslab.space import require_room

BRANCH = Ref(b"refs/heads/main")
PUBLISH_IGNORE = ".publishignore"
# Never published, whatever .publishignore says: instructors' answers, JupyterLab's
# checkpoints (copies of the sources, solutions included), caches and git's own files.
ALWAYS_LEFT_OUT = (
    "solutions/",
    ".ipynb_checkpoints/",
    "__pycache__/",
    "*.pyc",
    ".git/",
    PUBLISH_IGNORE,
)
GENERATED = "README.md"  # written from the manifest by the build
MAX_FILE = 200 << 20  # a workshop file larger than this belongs in the datasets


@dataclass(frozen=True)
class Publication:
    workshop: str
    commit: str | None  # None: nothing changed since the last publication
    files: list[str]


@dataclass(frozen=True)
class Staged:
    """A workshop's participant version, checked and held in memory, not yet committed."""

    workshop: str
    files: dict[str, bytes]  # path in the repository -> content


def repository_path(data_dir: Path, workshop: str) -> Path:
    return data_dir / "git" / f"{workshop}.git"


def publish(
    data_dir: Path, name: str, message: str | None = None, root: Path = WORKSHOPS
) -> Publication:
    return commit(data_dir, stage(name, root), message)


def stage(name: str, root: Path = WORKSHOPS) -> Staged:
    """Build and check everything a publication of `root/name` holds; writes nothing."""
    workshop = load_workshop(name, root)  # InputError names the workshops there are
    files = folder_files(workshop)  # refuses unlisted notebooks and links first
    with tempfile.TemporaryDirectory(prefix="icslab-publish-") as scratch:
        folder = build_workshop(workshop, Path(scratch))[PARTICIPANT]
        for path in folder.rglob("*"):
            if path.is_file():
                files[path.relative_to(folder).as_posix()] = path.read_bytes()
    refuse_solutions(files)
    return Staged(name, dict(sorted(files.items())))


def stage_all(names: list[str], root: Path = WORKSHOPS) -> list[Staged]:
    """`stage` each workshop; every problem of every one in one InputError."""
    staged, problems = [], []
    for name in names:
        try:
            staged.append(stage(name, root))
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(*problems)
    return staged


def commit(data_dir: Path, staged: Staged, message: str | None = None) -> Publication:
    name, files = staged.workshop, staged.files
    size = sum(len(content) for content in files.values())
    require_room(repository_path(data_dir, name), size, f"publishing {name}")
    repo = _repository(repository_path(data_dir, name))
    blobs = []
    for path, content in files.items():
        blob = Blob.from_string(content)
        repo.object_store.add_object(blob)
        blobs.append((path.encode(), blob.id, 0o100644))
    tree = commit_tree(repo.object_store, blobs)
    names = list(files)
    parent = repo.refs.as_dict().get(BRANCH)
    if parent is not None and tree_of(repo, parent) == tree:
        return Publication(name, None, names)
    done = _commit(repo, tree, parent, message or f"Publish {name}")
    if not repo.refs.set_if_equals(BRANCH, parent, done.id):
        raise InputError(f"{name}: another publication happened meanwhile; run it again")
    return Publication(name, done.id.decode(), names)


def folder_files(workshop: Workshop) -> dict[str, bytes]:
    """The workshop folder's files besides its notebooks, as published: refuses (naming
    every one) a notebook the manifest does not list, a symlink, or anything else that
    is not a plain file, unless .publishignore or the manifest's `exclude` leaves it out."""
    folder = workshop.folder
    never = pathspec.GitIgnoreSpec.from_lines(ALWAYS_LEFT_OUT)
    left_out = pathspec.GitIgnoreSpec.from_lines([*workshop.exclude, *_publishignore(folder)])
    modules = {module.file for module in workshop.modules}
    manifest = folder / MANIFEST
    files, problems = {}, []
    # os.walk lists a linked folder among the folders but never enters it.
    for top, dirs, names in os.walk(folder):
        here = Path(top).relative_to(folder)
        for name in list(dirs):
            relative = (here / name).as_posix()
            if never.match_file(relative + "/") or left_out.match_file(relative + "/"):
                dirs.remove(name)
            elif (Path(top) / name).is_symlink():
                dirs.remove(name)
                problems.append(f"{folder / relative}: a symlink; {_instead}")
        for name in names:
            relative = (here / name).as_posix()
            left = never.match_file(relative) or left_out.match_file(relative)
            if left and relative != MANIFEST:  # the manifest goes: servers land by it
                continue
            path = Path(top) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                problems.append(f"{path}: a symlink; {_instead}")
            elif relative in modules:
                continue  # published as its participant version, never as its source
            elif not stat.S_ISREG(mode):
                problems.append(f"{path}: not a regular file; {_leave_out}")
            elif name.lower().endswith(".ipynb"):
                problems.append(
                    f"{path}: a notebook {manifest} does not list: add it as a [[modules]] "
                    f"entry there, or {_leave_out}"
                )
            elif relative == GENERATED:
                problems.append(
                    f"{path}: the published {GENERATED} is generated from {manifest}: "
                    "rename yours (e.g. ABOUT.md)"
                )
            else:
                try:
                    files[relative] = read(folder, relative, MAX_FILE).data
                except Refused as error:
                    problems.append(f"{folder}/{error}")
    if problems:
        raise InputError(*problems)
    return files


_leave_out = f"leave it out with a line in {PUBLISH_IGNORE}"
_instead = f"copy the file itself into the folder, or {_leave_out}"


def _publishignore(folder: Path) -> list[str]:
    path = folder / PUBLISH_IGNORE
    if path.is_symlink():
        raise InputError(f"{path}: a symlink; write the patterns in the file itself")
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def tree_of(repo: Repo, commit_id: ObjectID) -> ObjectID:
    """The tree of one of the repository's commits."""
    commit = repo[commit_id]
    assert isinstance(commit, Commit), commit_id  # the branch only ever holds commits
    return commit.tree


def refuse_solutions(files: dict[str, bytes]) -> None:
    leaks = [
        path
        for path, content in files.items()
        if path.lower().endswith(".ipynb")
        and contains_solutions(nbformat.reads(content.decode(), as_version=4))
    ]
    if leaks:
        raise InputError(*(f"{leak}: has solution cells; not publishing it" for leak in leaks))


def _repository(path: Path) -> Repo:
    if (path / "HEAD").exists():
        return Repo(str(path))
    path.mkdir(parents=True, exist_ok=True)
    repo = Repo.init_bare(str(path))
    repo.refs.set_symbolic_ref(HEADREF, BRANCH)
    return repo


def _commit(repo: Repo, tree: ObjectID, parent: ObjectID | None, message: str) -> Commit:
    identity = f"{getpass.getuser()} <{getpass.getuser()}@{socket.gethostname()}>".encode()
    commit = Commit()
    commit.tree = tree
    commit.parents = [parent] if parent else []
    commit.author = commit.committer = identity
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = message.encode() + b"\n"
    repo.object_store.add_object(commit)
    return commit
