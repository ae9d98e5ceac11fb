"""nbgitpuller links to a published workshop, and QR codes of them for the projector.

A link sends a participant through the hub (`/hub/user-redirect/...`, so it works
for whoever clicks it) to their server's `git-pull`, which clones or merges the
workshop repository into `<workshop>/` in their work folder and opens `path`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from dulwich.errors import NotGitRepository
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Tree
from dulwich.repo import Repo

from icslab.errors import InputError
from icslab.material.publish import BRANCH, repository_path, tree_of


def published_files(data_dir: Path, workshop: str) -> Repo:
    try:
        repo = Repo(str(repository_path(data_dir, workshop)))
    except NotGitRepository:
        raise InputError(
            f"{workshop!r} is not published in {data_dir}: run `icslab publish {workshop}` first"
        ) from None
    if BRANCH not in repo.refs.as_dict():
        raise InputError(f"{workshop!r} has no publication yet: run `icslab publish {workshop}`")
    return repo


def pull_link(
    hub_url: str, git_url: str, data_dir: Path, workshop: str, path: str | None = None
) -> str:
    """The nbgitpuller link; `path` (a file of the published workshop) opens after the pull."""
    repo = published_files(data_dir, workshop)
    target = workshop
    if path:
        clean = path.strip("/")
        tree = tree_of(repo, repo.refs[BRANCH])
        try:
            tree_lookup_path(repo.__getitem__, tree, clean.encode())
        except KeyError:
            raise InputError(
                f"{path}: not in the published workshop {workshop!r} "
                f"(files: {', '.join(_names(repo))})"
            ) from None
        target = f"{workshop}/{clean}"
    query = urlencode(
        {
            "repo": f"{git_url}/{workshop}.git",
            "branch": BRANCH.decode().removeprefix("refs/heads/"),
            # Else nbgitpuller names the folder after the URL's last part, "<workshop>.git".
            "targetpath": workshop,
            "urlpath": f"lab/tree/{target}",
        }
    )
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def write_qr(link: str, out: Path) -> Path:
    import segno

    if out.suffix.lower() != ".png":
        raise InputError(f"{out}: the QR code is written as PNG; name it *.png")
    segno.make(link, error="m").save(str(out), scale=10, border=4)
    return out


def _names(repo: Repo) -> list[str]:
    tree = repo[tree_of(repo, repo.refs[BRANCH])]
    assert isinstance(tree, Tree)  # what a commit's tree id names
    return sorted(entry.path.decode() for entry in tree.iteritems())
