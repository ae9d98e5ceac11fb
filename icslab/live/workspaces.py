"""Where an instructor's work folder is, seen from the lab server."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from icslab.errors import InputError
from icslab.hub.teams import user_volume
from icslab.lab import LabPaths


def work_folder(data_dir: Path, username: str, docker_prefix: str | None) -> Path:
    """Local mode: DATA_DIR/users/<name>; docker mode: their volume's folder on the host."""
    if docker_prefix is None:
        return LabPaths(data_dir).users / username
    import docker

    try:
        volume = docker.from_env().volumes.get(user_volume(docker_prefix, username))
    except docker.errors.NotFound:
        raise InputError(f"{username} has no work volume yet: start their server once") from None
    return Path(volume.attrs["Mountpoint"])


def notebook_in(folder: Path, path: str) -> Path:
    """`path` inside `folder`, refusing anything that would leave it (by name: code
    running as root reads it with icslab.safe_read, which also refuses links)."""
    return folder / checked_notebook(path)


def checked_notebook(path: str) -> str:
    """`path` as a notebook's path relative to a work folder, or InputError."""
    relative = PurePosixPath(path.strip("/"))
    if relative.is_absolute() or ".." in relative.parts or relative.suffix != ".ipynb":
        raise InputError(f"{path}: give a notebook (.ipynb) inside your work folder")
    return str(relative)
