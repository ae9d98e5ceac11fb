"""What the lab writes on request leaves the last RESERVE bytes of its disk free."""

import shutil
from collections import namedtuple

import pytest

from icslab import space
from icslab.errors import InputError

Usage = namedtuple("Usage", "total used free")


@pytest.mark.parametrize(
    ("free", "refused"), [(space.RESERVE + 100, False), (space.RESERVE + 99, True)]
)
def test_a_write_must_leave_the_reserve_free(monkeypatch, tmp_path, free, refused):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, free))
    target = tmp_path / "not" / "made" / "yet"  # measured on the disk it would go to
    if refused:
        with pytest.raises(InputError, match="a hand-in: the lab's disk is full"):
            space.require_room(target, 100, "a hand-in")
    else:
        space.require_room(target, 100, "a hand-in")
