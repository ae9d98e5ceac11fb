"""The machine a benchmark runs on, as the benchmarks need to see it."""

from __future__ import annotations

import time


def wait_until_quiet(timeout: float, idle_share: float) -> bool:
    """Wait for a second in which the CPUs were at least `idle_share` idle (what the
    benchmark started has settled); False if no such second came within `timeout`."""

    def cpu_times() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    deadline = time.monotonic() + timeout
    idle, total = cpu_times()
    while time.monotonic() < deadline:
        time.sleep(1)  # the measuring window itself, not a wait for an event
        now_idle, now_total = cpu_times()
        if (now_idle - idle) / max(1, now_total - total) >= idle_share:
            return True
        idle, total = now_idle, now_total
    return False


def anonymous(pid: int | str = "self") -> int:
    """A process's anonymous memory in bytes (smaps_rollup): what it holds whoever else
    maps the same files. USS also counts a mapped dataset's pages while no other
    process maps them."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) * 1024
    return 0
