"""Login-to-kernel-ready time in local mode: one participant alone, then N at once.

Each measurement is what a participant waits for: submit the login form, the
hub starts their server, JupyterLab opens, a kernel starts and answers 6*7.

    .venv/bin/python bench/spawn.py [--users 10] [--runs 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from icslab.testing import RunningLab


def login_to_kernel_ready(lab: RunningLab, username: str, barrier=None) -> float:
    client = lab.client()
    password = lab.credentials()[username]
    if barrier:
        barrier.wait()
    started = time.perf_counter()
    client.login(username, password)
    client.start_server()
    answer = client.run_code("6*7")
    elapsed = time.perf_counter() - started
    client.stop_server()
    client.close()
    if answer != "42":
        raise RuntimeError(f"{username}'s kernel answered {answer!r}")
    return elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, values: list[float], attempted: int) -> None:
    print(
        f"{name:<28} n={len(values):<3} ok={len(values)}/{attempted:<4} "
        f"median={statistics.median(values):.2f}s  p95={percentile(values, 0.95):.2f}s  "
        f"max={max(values):.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10, help="participants at once")
    parser.add_argument("--runs", type=int, default=5, help="single-participant runs")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of N at once")
    args = parser.parse_args()

    roster = [("trainer", "", "instructor"), ("solo", "solo", "participant")]
    roster += [(f"b{i:03d}", "crowd", "participant") for i in range(args.users)]
    with (
        tempfile.TemporaryDirectory(prefix="icslab-bench-") as folder,
        RunningLab(folder, roster=roster) as lab,
    ):
        login_to_kernel_ready(lab, "solo")  # warm the page cache, not measured
        alone = [login_to_kernel_ready(lab, "solo") for _ in range(args.runs)]

        crowd: list[float] = []
        failures: list[str] = []
        for _ in range(args.rounds):
            barrier = threading.Barrier(args.users)
            names = [f"b{i:03d}" for i in range(args.users)]
            with ThreadPoolExecutor(args.users) as pool:
                futures = [pool.submit(login_to_kernel_ready, lab, name, barrier) for name in names]
                for future in futures:
                    try:
                        crowd.append(future.result())
                    except Exception as error:  # a failure is a figure too
                        failures.append(repr(error))

    print("login-to-kernel-ready, local spawner (JupyterLab + python3 kernel)")
    report("1 participant", alone, args.runs)
    report(f"{args.users} at once ({args.rounds} rounds)", crowd, args.users * args.rounds)
    for failure in failures:
        print("  failed:", failure)


if __name__ == "__main__":
    main()
