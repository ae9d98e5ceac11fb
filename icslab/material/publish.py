"""`icslab publish`: commit a workshop's participant version to the lab's git repository.

The repository is bare, `DATA_DIR/git/<workshop>.git`, with one branch `main`.
A publication is one commit whose tree is exactly the participant version (so a
file removed from the workshop disappears for those who pull again). Nothing is
committed if the build fails, if a notebook carries a solution cell, or if the
tree is unchanged; the branch moves by compare-and-swap, so two publications at
once cannot lose one another's commit.
"""

from __future__ import annotations

import getpass
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from dulwich.index import commit_tree
from dulwich.objects import Blob, Commit, ObjectID
from dulwich.refs import HEADREF, Ref
from dulwich.repo import Repo

from icslab.errors import InputError
from icslab.notebooks.build import build_workshop
from icslab.notebooks.manifest import WORKSHOPS, load_workshop
from icslab.notebooks.variants import contains_solutions
from icslab.space import require_room

BRANCH = Ref(b"refs/heads/main")


@dataclass(frozen=True)
class Publication:
    workshop: str
    commit: str | None  # None: nothing changed since the last publication
    files: list[str]


def repository_path(data_dir: Path, workshop: str) -> Path:
    return data_dir / "git" / f"{workshop}.git"


def publish(
    data_dir: Path, name: str, message: str | None = None, root: Path = WORKSHOPS
) -> Publication:
    workshop = load_workshop(name, root)  # InputError names the workshops there are
    with tempfile.TemporaryDirectory(prefix="icslab-publish-") as scratch:
        folder = build_workshop(workshop, Path(scratch))["participant"]
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        refuse_solutions(files)
        size = sum(path.stat().st_size for path in files)
        require_room(repository_path(data_dir, name), size, f"publishing {name}")
        repo = _repository(repository_path(data_dir, name))
        blobs = []
        for path in files:
            blob = Blob.from_string(path.read_bytes())
            repo.object_store.add_object(blob)
            blobs.append((path.relative_to(folder).as_posix().encode(), blob.id, 0o100644))
        tree = commit_tree(repo.object_store, blobs)
        names = [path.relative_to(folder).as_posix() for path in files]
        parent = repo.refs.as_dict().get(BRANCH)
        if parent is not None and tree_of(repo, parent) == tree:
            return Publication(name, None, names)
        commit = _commit(repo, tree, parent, message or f"Publish {name}")
        if not repo.refs.set_if_equals(BRANCH, parent, commit.id):
            raise InputError(f"{name}: another publication happened meanwhile; run it again")
        return Publication(name, commit.id.decode(), names)


def tree_of(repo: Repo, commit_id: ObjectID) -> ObjectID:
    """The tree of one of the repository's commits."""
    commit = repo[commit_id]
    assert isinstance(commit, Commit), commit_id  # the branch only ever holds commits
    return commit.tree


def refuse_solutions(files: list[Path]) -> None:
    leaks = [
        str(path)
        for path in files
        if path.suffix == ".ipynb" and contains_solutions(nbformat.read(path, as_version=4))
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
