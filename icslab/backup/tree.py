"""Copy a folder as it is: links as links (never their targets), modes kept (a 0600
secret stays 0600), owners and times kept as well when root.

Participants write in the data dir (users/, teams/ in local mode) while a backup
runs, and a link there may point anywhere (the lab's secrets, /). So every entry is
opened relative to its folder with O_NOFOLLOW, as icslab.safe_read does: a folder
swapped for a link while we copy is never entered, and what vanishes meanwhile is
left out, as if it had not been there.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from stat import S_IMODE, S_ISDIR, S_ISLNK, S_ISREG

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO put in place of a file must not wait for a writer.
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
# Deleted, or swapped for a link or a file, since its folder was listed.
_CHANGED = (errno.ENOENT, errno.ELOOP, errno.ENOTDIR)
CHUNK = 8 << 20

Skip = Callable[[PurePosixPath], bool]


def copy_tree(source: Path, target: Path, skip: Skip = lambda _: False) -> None:
    """The contents of `source` into the existing folder `target`, but what `skip`
    (given each path relative to `source`) says to leave out. FIFOs, sockets and
    devices are no state of the lab's: left out too."""
    fd = os.open(source, _DIRECTORY)
    try:
        _copy_folder(fd, target, PurePosixPath(), skip)
    finally:
        os.close(fd)


def _copy_folder(fd: int, target: Path, relative: PurePosixPath, skip: Skip) -> None:
    for name in sorted(os.listdir(fd)):
        if skip(relative / name):
            continue
        try:
            _copy_entry(fd, name, target / name, relative / name, skip)
        except OSError as error:
            if error.errno not in _CHANGED:
                raise


def _copy_entry(dir_fd: int, name: str, target: Path, relative: PurePosixPath, skip: Skip):
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if S_ISLNK(info.st_mode):
        os.symlink(os.readlink(name, dir_fd=dir_fd), target)
        if os.geteuid() == 0:
            os.chown(target, info.st_uid, info.st_gid, follow_symlinks=False)
    elif S_ISDIR(info.st_mode):
        fd = os.open(name, _DIRECTORY, dir_fd=dir_fd)
        try:
            target.mkdir(mode=0o700)
            _copy_folder(fd, target, relative, skip)
            _keep(target, os.fstat(fd))  # last: a read-only folder is filled first
        finally:
            os.close(fd)
    elif S_ISREG(info.st_mode):
        _copy_file(dir_fd, name, target)


def _copy_file(dir_fd: int, name: str, target: Path) -> None:
    fd = os.open(name, _FILE, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not S_ISREG(info.st_mode):
            return
        # 0600 from the start: a secret is never readable by others, not even for a moment.
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            while os.sendfile(out, fd, None, CHUNK):
                pass
            _keep(out, info)
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _keep(where: int | Path, info: os.stat_result) -> None:
    """The original's owner (root only), mode and times on the copy."""
    if os.geteuid() == 0:
        os.chown(where, info.st_uid, info.st_gid)  # before chmod: chown clears setuid bits
    os.chmod(where, S_IMODE(info.st_mode))
    os.utime(where, ns=(info.st_atime_ns, info.st_mtime_ns))
