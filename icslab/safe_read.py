"""Read a file beneath a folder without following any symlink on the way.

Code running as root reads files in folders that participants (or their code)
write to. A link there could point anywhere (DATA_DIR/credentials.csv,
/etc/shadow), so every component is opened relative to the one before with
O_NOFOLLOW: a link anywhere on the path, or anything that is not a regular file,
is refused. Messages name only the relative path and the reason, never content.

    found = read(folder, "notes/ewma.ipynb", max_bytes=20 << 20)
    found.data, found.mtime_ns, found.size
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from stat import S_ISLNK, S_ISREG

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not wait for a writer (fstat refuses it next).
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class Refused(Exception):
    """Why a file was not read. `missing`: it (or a folder on its way) does not exist."""

    def __init__(self, relative: str, reason: str, *, missing: bool = False):
        super().__init__(f"{relative}: {reason}")
        self.missing = missing


@dataclass(frozen=True)
class Found:
    data: bytes  # empty from stat()
    mtime_ns: int
    size: int


def read(folder: Path, relative: str, max_bytes: int) -> Found:
    """The regular file `relative` beneath `folder`, at most `max_bytes` long."""
    fd, info = _open(folder, relative)
    try:
        if info.st_size > max_bytes:
            raise Refused(relative, f"larger than {max_bytes} bytes")
        chunks, total = [], 0
        # At most max_bytes + 1: a file that grows meanwhile is refused, not read whole.
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise Refused(relative, f"larger than {max_bytes} bytes")
        return Found(b"".join(chunks), info.st_mtime_ns, info.st_size)
    finally:
        os.close(fd)


def stat(folder: Path, relative: str) -> Found:
    """mtime and size of the regular file `relative` beneath `folder`, read nothing."""
    fd, info = _open(folder, relative)
    os.close(fd)
    return Found(b"", info.st_mtime_ns, info.st_size)


def _open(folder: Path, relative: str) -> tuple[int, os.stat_result]:
    path = PurePosixPath(relative)
    if path.is_absolute() or not path.parts or ".." in path.parts or "\0" in relative:
        raise Refused(relative, "not a relative path inside the folder")
    fd = _step(relative, "the folder", None, str(folder), _DIRECTORY)
    try:
        for at, part in enumerate(path.parts, 1):
            flags = _FILE if at == len(path.parts) else _DIRECTORY
            parent, fd = fd, _step(relative, "/".join(path.parts[:at]), fd, part, flags)
            os.close(parent)
        info = os.fstat(fd)
        if not S_ISREG(info.st_mode):
            raise Refused(relative, "not a regular file")
        return fd, info
    except BaseException:
        os.close(fd)
        raise


def _step(relative: str, where: str, dir_fd: int | None, name: str, flags: int) -> int:
    """Open one component; `where` names it in messages (never the folder's own path)."""
    where = "" if where == relative else f"{where} is "
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise Refused(relative, f"{where}not there", missing=True) from None
    except OSError as error:
        # O_NOFOLLOW on a link: ELOOP, or ENOTDIR with O_DIRECTORY (as for a file).
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            if _is_link(name, dir_fd):  # only to say which: the open is what refused
                raise Refused(relative, f"{where}a symbolic link (not followed)") from None
            raise Refused(relative, f"{where}not a folder") from None
        number = error.errno  # an int from os.open (OSError types it int | None)
        code = errno.errorcode.get(number, number) if number is not None else error.strerror
        raise Refused(relative, f"{where}not readable ({code})") from None


def _is_link(name: str, dir_fd: int | None) -> bool:
    try:
        return S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False
