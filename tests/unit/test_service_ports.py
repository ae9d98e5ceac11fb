"""Each of a lab's services gets a port of its own at `icslab up`, even when the kernel
hands out again a port the last start gave another service (that service is stopped, so
its port is free): two services on one port leave one dead, and its clients talking to
the other (seen once in CI: the room view answered by another service after a restart)."""

from icslab.hub import launch


def test_a_port_already_chosen_for_another_service_is_never_chosen_again(tmp_path, monkeypatch):
    handed_out = iter([41001, 41001, 41002])  # the kernel gives 41001 twice
    monkeypatch.setattr(launch, "free_port", lambda: next(handed_out))
    chosen: set[int] = set()
    first = launch._reuse_port(tmp_path, "git_port", chosen)
    second = launch._reuse_port(tmp_path, "room_port", chosen)
    assert (first, second) == (41001, 41002) and chosen == {41001, 41002}


def test_the_last_starts_port_is_kept_when_free_and_nobody_elses(lab, monkeypatch):
    lab.save()
    monkeypatch.setattr(launch, "_port_is_free", lambda port: True)
    monkeypatch.setattr(launch, "free_port", lambda: 45000)
    chosen: set[int] = set()
    assert launch._reuse_port(lab.data_dir, "room_port", chosen) == lab.room_port
    # Another service's last port, already chosen this time: a new one instead.
    assert launch._reuse_port(lab.data_dir, "room_port", chosen) == 45000
