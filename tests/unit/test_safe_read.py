"""safe_read never follows a link, never blocks on a FIFO, never reads past its limit."""

import contextlib
import os
import threading
from types import SimpleNamespace

import pytest

from icslab import safe_read
from icslab.safe_read import Refused

SECRET = b"the lab's secret"


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "secret.csv").write_bytes(SECRET)
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "nb.ipynb").write_bytes(b"{}")
    return work


def refused(folder, relative, reason, max_bytes=100):
    with pytest.raises(Refused, match=reason) as caught:
        safe_read.read(folder, relative, max_bytes)
    assert str(caught.value).startswith(f"{relative}: ")
    assert SECRET.decode() not in str(caught.value)
    return caught.value


def test_a_plain_file_is_read_with_its_stat(folder):
    found = safe_read.read(folder, "sub/nb.ipynb", 100)
    info = (folder / "sub" / "nb.ipynb").stat()
    assert (found.data, found.mtime_ns, found.size) == (b"{}", info.st_mtime_ns, 2)
    assert safe_read.stat(folder, "sub/nb.ipynb") == safe_read.Found(b"", info.st_mtime_ns, 2)


def test_a_symlinked_file_is_refused(folder):
    (folder / "nb.ipynb").symlink_to(folder.parent / "secret.csv")
    refused(folder, "nb.ipynb", "symbolic link")
    with pytest.raises(Refused, match="symbolic link"):
        safe_read.stat(folder, "nb.ipynb")


def test_a_symlinked_folder_on_the_way_is_refused(folder):
    (folder / "up").symlink_to(folder.parent)
    refused(folder, "up/secret.csv", "symbolic link")


def test_a_fifo_is_refused_without_blocking(folder):
    os.mkfifo(folder / "nb.ipynb")
    answers = []

    def attempt():  # in a thread: a blocking open would hang it, not the test
        try:
            safe_read.read(folder, "nb.ipynb", 9)
        except Refused as error:
            answers.append(str(error))

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert answers == ["nb.ipynb: not a regular file"]


def test_a_directory_is_refused(folder):
    refused(folder, "sub", "not a regular file")


def test_the_limit_reads_exactly_max_and_refuses_one_more(folder):
    (folder / "big").write_bytes(b"x" * 100)
    assert safe_read.read(folder, "big", 100).data == b"x" * 100
    refused(folder, "big", "larger than 99 bytes", max_bytes=99)


def test_a_file_growing_past_the_limit_is_not_read_whole(folder, monkeypatch):
    (folder / "big").write_bytes(b"x" * 10_000)
    real_fstat, real_read, taken = os.fstat, os.read, []

    def fstat(fd):  # as if fstat ran before the file grew
        info = real_fstat(fd)
        return SimpleNamespace(st_mode=info.st_mode, st_mtime_ns=info.st_mtime_ns, st_size=10)

    def read(fd, n):
        taken.append(real_read(fd, n))
        return taken[-1]

    monkeypatch.setattr(os, "fstat", fstat)
    monkeypatch.setattr(os, "read", read)
    refused(folder, "big", "larger than 100 bytes")
    assert sum(map(len, taken)) == 101


@pytest.mark.parametrize(
    "relative", ["../secret.csv", "sub/../../secret.csv", "/etc/passwd", "", "."]
)
def test_paths_leaving_the_folder_are_refused(folder, relative):
    refused(folder, relative, "not a relative path")


def test_missing_files_say_so(folder):
    assert refused(folder, "sub/none.ipynb", "not there").missing
    assert refused(folder, "none/nb.ipynb", "not there").missing
    assert not refused(folder, "sub/nb.ipynb/x", "not a folder").missing


def test_no_descriptor_is_left_open(folder):
    (folder / "link").symlink_to(folder.parent / "secret.csv")
    before = len(os.listdir("/proc/self/fd"))
    for relative in ["sub/nb.ipynb", "link", "sub", "sub/nb.ipynb/x", "sub/none", "../x"]:
        with contextlib.suppress(Refused):
            safe_read.read(folder, relative, 1)
    assert len(os.listdir("/proc/self/fd")) == before
