"""Login-to-kernel-ready times: one participant alone, N at once, N after `icslab warm`.

Each measurement is what a participant waits for: submit the login form, the
hub starts their server (unless warmed), JupyterLab opens, a kernel starts and
answers 6*7. In docker mode it also prints each idle server's memory, the
image's size and the time of an up-to-date and of a forced (cached) image build.

    .venv/bin/python bench/spawn.py [--spawner local|docker] [--users N] [--runs 5]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from icslab.testing import RunningLab


def login_to_kernel_ready(lab: RunningLab, username: str, barrier=None, stop=True) -> float:
    client = lab.client()
    password = lab.credentials()[username]
    if barrier:
        barrier.wait()
    started = time.perf_counter()
    client.login(username, password)
    client.start_server()
    answer = client.run_code("6*7")
    elapsed = time.perf_counter() - started
    if stop:
        client.stop_server()
    client.close()
    if answer != "42":
        raise RuntimeError(f"{username}'s kernel answered {answer!r}")
    return elapsed


def crowd(lab: RunningLab, names: list[str], stop: bool) -> tuple[list[float], list[str]]:
    """Everyone submits the login form at the same moment."""
    barrier = threading.Barrier(len(names))
    times, failures = [], []
    with ThreadPoolExecutor(len(names)) as pool:
        futures = [pool.submit(login_to_kernel_ready, lab, n, barrier, stop) for n in names]
        for future in futures:
            try:
                times.append(future.result())
            except Exception as error:  # a failure is a figure too
                failures.append(repr(error))
    return times, failures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, values: list[float], attempted: int) -> None:
    if not values:
        print(f"{name:<30} ok=0/{attempted}")
        return
    print(
        f"{name:<30} ok={len(values)}/{attempted:<4} median={statistics.median(values):.2f}s  "
        f"p95={percentile(values, 0.95):.2f}s  max={max(values):.2f}s"
    )


def stop_all(lab: RunningLab, names: list[str]) -> None:
    trainer = lab.login("trainer")
    for name in names:
        if trainer.server_status(name):
            trainer.stop_server(name)


def idle_memory(prefix: str, names: list[str]) -> list[float]:
    """MiB used by each warmed container before anyone logs in."""
    import docker

    engine = docker.from_env()
    return [
        engine.containers.get(f"{prefix}-{name}").stats(stream=False)["memory_stats"]["usage"]
        / 2**20
        for name in names
    ]


def image_figures() -> list[str]:
    import docker

    size = docker.from_env().images.get("icslab-participant:latest").attrs["Size"] / 1e9
    lines = [f"{'image size':<30} {size:.2f} GB"]
    build = [sys.executable, "-m", "icslab.images", "build"]
    subprocess.run(build, check=True, capture_output=True)  # bring it up to date, untimed
    for label, args in (("image build, up to date", []), ("image build, --force", ["--force"])):
        started = time.perf_counter()
        subprocess.run([*build, *args], check=True, capture_output=True)
        lines.append(f"{label:<30} {time.perf_counter() - started:.1f} s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawner", choices=("local", "docker"), default="local")
    parser.add_argument("--users", type=int, help="participants at once [10 local, 20 docker]")
    parser.add_argument("--runs", type=int, default=5, help="single-participant runs")
    args = parser.parse_args()
    users = args.users or (20 if args.spawner == "docker" else 10)
    names = [f"b{i:03d}" for i in range(users)]
    roster = [("trainer", "", "instructor"), ("solo", "solo", "participant")]
    roster += [(name, "crowd", "participant") for name in names]
    prefix = f"icslabbench{secrets.token_hex(2)}"
    sections = {"hub": {"spawner": args.spawner}}
    if args.spawner == "docker":
        sections["docker"] = {"prefix": prefix}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="icslab-bench-") as folder,
            RunningLab(folder, roster=roster, **sections) as lab,
        ):
            login_to_kernel_ready(lab, "solo")  # warm the page cache, not measured
            alone = [login_to_kernel_ready(lab, "solo") for _ in range(args.runs)]
            cold, cold_failures = crowd(lab, names, stop=True)
            warm = lab.icslab("warm", "--concurrency", "4")
            if warm.returncode != 0:
                raise RuntimeError(f"icslab warm failed: {warm.stdout}{warm.stderr}")
            memory = idle_memory(prefix, names) if args.spawner == "docker" else []
            warmed, warm_failures = crowd(lab, names, stop=False)
            stop_all(lab, names)
        images = image_figures() if args.spawner == "docker" else []
    finally:
        if args.spawner == "docker":
            from icslab.hub.docker_env import remove_lab_resources

            remove_lab_resources(prefix, volumes=True)

    print(f"login-to-kernel-ready, {args.spawner} spawner (JupyterLab + python3 kernel)")
    report("1 participant", alone, args.runs)
    report(f"{users} at once", cold, users)
    report(f"{users} at once after warm", warmed, users)
    print(f"{'warm':<30} {warm.stdout.strip().splitlines()[-1]}")
    if memory:
        print(f"{'idle server memory':<30} median={statistics.median(memory):.0f} MiB  "
              f"max={max(memory):.0f} MiB (n={len(memory)}, warmed, no kernel)")  # fmt: skip
    for line in images:
        print(line)
    for failure in cold_failures + warm_failures:
        print("  failed:", failure)


if __name__ == "__main__":
    main()
