"""What the disk guard counts in a participant's folder: blocks really used, links
never followed, a hard-linked file once."""

import os

from icslab.hub.disk_guard import folder_bytes

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
