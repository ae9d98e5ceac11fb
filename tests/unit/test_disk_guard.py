"""What the disk guard counts in a participant's folder: blocks really used, links
never followed, a hard-linked file once."""

import os

import pytest

from icslab.hub.disk_guard import folder_bytes
from icslab.hub.docker_env import disk_quota_supported

MB = 1024 * 1024


def test_a_folder_counts_its_blocks_without_following_links(tmp_path):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "data.bin").write_bytes(b"x" * MB)
    os.link(work / "sub" / "data.bin", work / "again.bin")  # the same blocks
    big_elsewhere = tmp_path / "elsewhere.bin"
    big_elsewhere.write_bytes(b"y" * 8 * MB)
    (work / "link.bin").symlink_to(big_elsewhere)
    (work / "folder-link").symlink_to(tmp_path, target_is_directory=True)
    used = folder_bytes(work)
    assert MB <= used < 2 * MB


def test_a_sparse_file_counts_what_it_holds_not_its_size(tmp_path):
    with open(tmp_path / "sparse.bin", "wb") as handle:
        handle.seek(10 * 1024 * MB)
        handle.write(b"z")
    assert folder_bytes(tmp_path) < MB


XFS_INFO = {
    "Driver": "overlay2",
    "DriverStatus": [["Backing Filesystem", "xfs"], ["Supports d_type", "true"]],
    "DockerRootDir": "/var/lib/docker",
}


@pytest.mark.parametrize(
    ("info", "mounts", "supported"),
    [
        (XFS_INFO, "/dev/vdb /var/lib/docker xfs rw,relatime,prjquota 0 0", True),
        (XFS_INFO, "/dev/vdb /var/lib xfs rw,pquota 0 0\n/dev/vda / ext4 rw 0 0", True),
        (XFS_INFO, "/dev/vdb /var/lib/docker xfs rw,relatime 0 0", False),  # no quotas
        # The mount that holds the root decides, not a shorter one.
        (XFS_INFO, "/dev/vda / xfs rw,prjquota 0 0\n/dev/vdb /var/lib/docker xfs rw 0 0", False),
        (XFS_INFO, "/dev/vdb /var/lib/dockerx xfs rw,prjquota 0 0", False),
        ({**XFS_INFO, "DriverStatus": [["Backing Filesystem", "extfs"]]}, "/ / ext4 rw 0 0", False),
        ({**XFS_INFO, "Driver": "vfs"}, "/dev/vdb /var/lib/docker xfs rw,prjquota 0 0", False),
    ],
)
def test_the_engine_caps_a_containers_files_only_on_xfs_with_project_quotas(
    info, mounts, supported
):
    assert disk_quota_supported(info, mounts) is supported
