"""Login-to-kernel-ready times: one participant alone, N at once, N after `icslab warm`.

Each measurement is what a participant waits for: submit the login form, the
hub starts their server (unless warmed), JupyterLab opens, a kernel starts and
answers 6*7. Each line is followed by the median of each of these phases and,
for a crowd, by the CPU seconds each kind of process used meanwhile (hub,
servers, kernels, proxy, TLS front, bench clients...): what 2 cores had to share.
In docker mode it also prints each idle server's memory, the image's size and
the time of an up-to-date and of a forced (cached) image build.

With --tls it instead compares plain HTTP on loopback with HTTPS through the
caddy front (lab-ca, each participant's server on its own <user>.lab.test), on
the same machine and spawner: one participant alone (median of --runs) and
--users at once (--crowds times; the median of the crowds' p95 and medians),
then the HTTPS/HTTP ratios. Both labs run side by side, each with its own
unmeasured first login, and take turns (HTTP, HTTPS, then HTTPS, HTTP...), so
neither gets the quieter machine or the warmer page cache.

    .venv/bin/python bench/spawn.py [--spawner local|docker] [--users N] [--runs 5]
                                    [--tls [--crowds 3]]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from icslab.testing import RunningLab
from icslab.testing.machine import wait_until_quiet

PHASES = ("login", "server ready", "open lab", "kernel answers")


def login_to_kernel_ready(
    lab: RunningLab, username: str, start=None, finish=None, stop=True
) -> list[float]:
    """Seconds spent in each of PHASES, in order. In a crowd, everyone starts at
    `start` and cleans up (kernel, server) only after `finish`, once all have
    measured: stopping containers is not what a participant waits for."""
    client = lab.client()
    password = lab.credentials()[username]
    if start:
        start.wait()
    try:
        marks = [time.perf_counter()]
        client.login(username, password)
        marks.append(time.perf_counter())
        client.start_server()
        marks.append(time.perf_counter())
        client.open_server()  # the hub's OAuth round trip and JupyterLab's page
        marks.append(time.perf_counter())
        kernel_id = client.start_kernel()
        answer = client.execute(kernel_id, "6*7")
        marks.append(time.perf_counter())
    except Exception:
        if finish:
            finish.abort()  # nobody waits for a participant who will not arrive
        raise
    if finish:
        with contextlib.suppress(threading.BrokenBarrierError):
            finish.wait(timeout=600)
    client.shutdown_kernel(kernel_id)
    if stop:
        client.stop_server()
    client.close()
    if answer != "42":
        raise RuntimeError(f"{username}'s kernel answered {answer!r}")
    return [later - earlier for earlier, later in itertools.pairwise(marks)]


@dataclass
class Crowd:
    phases: list[list[float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # CPU time (user + system) each kind of process used, in clock ticks (see cpu_ticks).
    cpu: collections.Counter[str] = field(default_factory=collections.Counter)


def crowd(lab: RunningLab, names: list[str], stop: bool) -> Crowd:
    """Everyone submits the login form at the same moment. Also counts the CPU
    each kind of process used from that moment until the last kernel answered."""
    result = Crowd()
    before: collections.Counter[str] = collections.Counter()
    start = threading.Barrier(len(names), action=lambda: before.update(cpu_ticks()))
    finish = threading.Barrier(len(names), action=lambda: result.cpu.update(cpu_ticks()))
    with ThreadPoolExecutor(len(names)) as pool:
        futures = [pool.submit(login_to_kernel_ready, lab, n, start, finish, stop) for n in names]
        for future in futures:
            try:
                result.phases.append(future.result())
            except Exception as error:  # a failure is a figure too
                result.failures.append(repr(error))
    if result.cpu:  # empty when someone failed: the finish barrier was broken
        result.cpu.subtract(before)
    return result


def cpu_ticks() -> collections.Counter[str]:
    """CPU time (user + system) used so far by each kind of process, from /proc, in
    clock ticks (SC_CLK_TCK a second). A process that exits between two readings is
    missed: the crowd reads both while every kernel and server still runs."""
    used: collections.Counter[str] = collections.Counter()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                name, fields = stat.read().rsplit(")", 1)
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        numbers = fields.split()
        kind = _process_kind(int(entry.name), command, name.split("(", 1)[1])
        used[kind] += int(numbers[11]) + int(numbers[12])
    return used


def _process_kind(pid: int, command: str, name: str) -> str:
    if pid == os.getpid():
        return "bench clients"
    for kind, marker in (
        ("servers", "jupyterhub-singleuser"),
        ("servers", "icslab.hub.zygote"),  # local mode's servers are its forks
        ("kernels", "ipykernel_launcher"),
        ("hub", "bin/jupyterhub"),
        ("proxy", "configurable-http-proxy"),
        ("front", "caddy run"),  # the TLS front (--tls)
        ("front", "-m icslab.hub.front"),  # and the service that runs it
        ("docker engine", "dockerd"),
        ("docker engine", "containerd"),
    ):
        if marker in command:
            return kind
    return "linux kernel threads" if not command else "other"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(
    name: str,
    phases: list[list[float]],
    attempted: int,
    cpu: collections.Counter[str] | None = None,
) -> None:
    """The total's median, p95 and max, then each phase's median, then (for a
    crowd) the CPU seconds each kind of process used meanwhile."""
    if not phases:
        print(f"{name:<30} ok=0/{attempted}")
        return
    totals = [sum(p) for p in phases]
    print(
        f"{name:<30} ok={len(totals)}/{attempted:<4} median={statistics.median(totals):.2f}s  "
        f"p95={percentile(totals, 0.95):.2f}s  max={max(totals):.2f}s"
    )
    medians = [statistics.median(p[i] for p in phases) for i in range(len(PHASES))]
    print(f"{'':<30} " + "  ".join(f"{n} {m:.2f}s" for n, m in zip(PHASES, medians, strict=True)))
    if cpu:
        every = [(kind, ticks / os.sysconf("SC_CLK_TCK")) for kind, ticks in cpu.most_common()]
        used = [(kind, seconds) for kind, seconds in every if seconds >= 0.05]
        print(f"{'':<30} CPU: " + ", ".join(f"{kind} {seconds:.1f}s" for kind, seconds in used))


def stop_all(lab: RunningLab, names: list[str]) -> None:
    trainer = lab.login("trainer")
    for name in names:
        if trainer.server_status(name):
            trainer.stop_server(name)


def idle_memory(prefix: str, names: list[str]) -> list[float]:
    """MiB used by each warmed container before anyone logs in, counted as
    `docker stats` does: without the page cache the kernel may drop."""
    import docker

    engine = docker.from_env()
    used = []
    for name in names:
        stats = engine.containers.get(f"{prefix}-{name}").stats(stream=False)
        assert isinstance(stats, dict)  # stream=False: one reading, not an iterator
        memory = stats["memory_stats"]
        cache = memory["stats"].get("total_inactive_file", memory["stats"].get("inactive_file", 0))
        used.append((memory["usage"] - cache) / 2**20)
    return used


def image_figures() -> list[str]:
    import docker

    size = docker.from_env().images.get("icslab-participant:latest").attrs["Size"] / 1e9
    lines = [f"{'image size':<30} {size:.2f} GB"]
    build = [sys.executable, "-m", "icslab.cli", "images", "build"]
    subprocess.run(build, check=True, capture_output=True)  # bring it up to date, untimed
    for label, args in (("image build, up to date", []), ("image build, --force", ["--force"])):
        started = time.perf_counter()
        subprocess.run([*build, *args], check=True, capture_output=True)
        lines.append(f"{label:<30} {time.perf_counter() - started:.1f} s")
    return lines


@dataclass
class Figures:
    alone: list[list[float]]
    cold: Crowd
    alone_warmed: list[list[float]] = field(default_factory=list)
    warmed: Crowd | None = None
    warm: str = ""
    memory: list[float] = field(default_factory=list)


@contextlib.contextmanager
def fresh_lab(spawner: str, roster, **sections):
    """A lab started fresh in its own folder (and docker prefix, removed afterwards),
    after one unmeasured login that warms the page cache. Yields (lab, prefix)."""
    prefix = f"icslabbench{secrets.token_hex(2)}"
    sections["hub"] = {"spawner": spawner}
    if spawner == "docker":
        sections["docker"] = {"prefix": prefix}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="icslab-bench-") as folder,
            RunningLab(Path(folder), roster=roster, **sections) as lab,
        ):
            login_to_kernel_ready(lab, "solo")
            yield lab, prefix
    finally:
        if spawner == "docker":
            from icslab.hub.docker_env import remove_lab_resources

            remove_lab_resources(prefix, volumes=True)


def measure(spawner: str, roster, names: list[str], runs: int) -> Figures:
    """1 participant alone `runs` times, everyone at once, the same after `icslab warm`
    and, in docker mode, idle memory."""
    with fresh_lab(spawner, roster) as (lab, prefix):
        alone = [login_to_kernel_ready(lab, "solo") for _ in range(runs)]
        figures = Figures(alone, crowd(lab, names, stop=True))
        warmed = lab.icslab("warm", "--concurrency", "4")
        if warmed.returncode != 0:
            raise RuntimeError(f"icslab warm failed: {warmed.stdout}{warmed.stderr}")
        figures.warm = warmed.stdout.strip().splitlines()[-1]
        # warmed servers have finished starting (and their spare kernels), as by 9:00
        if not wait_until_quiet(timeout=180, idle_share=0.9):
            raise TimeoutError("the machine did not quieten within 180s after warm")
        figures.memory = idle_memory(prefix, names) if spawner == "docker" else []
        # One sample: the warmed server's spare kernel is used up by it.
        figures.alone_warmed = [login_to_kernel_ready(lab, "solo", stop=False)]
        figures.warmed = crowd(lab, names, stop=False)
        stop_all(lab, [*names, "solo"])
        return figures


def compare_tls(spawner: str, roster, names: list[str], runs: int, crowds: int):
    """HTTP and HTTPS labs side by side, taking turns: (http, https) Figures, where
    `cold` holds every crowd's phases and `crowds` each crowd's (p95, median)."""
    with (
        fresh_lab(spawner, roster) as (plain, _),
        fresh_lab(spawner, roster, tls={"mode": "lab-ca"}) as (secure, _),
    ):
        labs = {"http": plain, "https": secure}
        figures = {kind: Figures([], Crowd()) for kind in labs}
        summaries: dict[str, list[tuple[float, float]]] = {kind: [] for kind in labs}
        for turn in range(max(runs, crowds)):
            order = ("http", "https") if turn % 2 == 0 else ("https", "http")
            for kind in order if turn < runs else ():
                figures[kind].alone.append(login_to_kernel_ready(labs[kind], "solo"))
            for kind in order if turn < crowds else ():
                done = crowd(labs[kind], names, stop=True)
                figures[kind].cold.phases += done.phases
                figures[kind].cold.failures += done.failures
                figures[kind].cold.cpu.update(done.cpu)
                totals = [sum(phases) for phases in done.phases]
                summaries[kind].append((percentile(totals, 0.95), statistics.median(totals)))
    return figures["http"], figures["https"], summaries


def print_figures(
    figures: Figures, runs: int, users: int, label: str = "", crowds: int = 1
) -> None:
    report(f"1 participant{label}", figures.alone, runs)
    if figures.warmed:
        report(f"1 participant after warm{label}", figures.alone_warmed, 1)
    at_once = f"{users} at once" + (f" (x{crowds})" if crowds > 1 else "")
    report(f"{at_once}{label}", figures.cold.phases, users * crowds, figures.cold.cpu)
    if figures.warmed:
        warmed = figures.warmed
        report(f"{users} at once after warm{label}", warmed.phases, users, warmed.cpu)
        print(f"{'warm':<30} {figures.warm}")
    if figures.memory:
        memory = figures.memory
        summary = f"median={statistics.median(memory):.0f} MiB  max={max(memory):.0f} MiB"
        print(f"{'idle server memory':<30} {summary} (n={len(memory)}, warmed, spare kernel too)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawner", choices=("local", "docker"), default="local")
    parser.add_argument("--users", type=int, help="participants at once [10 local, 20 docker]")
    parser.add_argument("--runs", type=int, default=5, help="single-participant runs")
    parser.add_argument("--tls", action="store_true", help="compare HTTP with HTTPS (lab-ca)")
    parser.add_argument("--crowds", type=int, default=3, help="crowds per lab with --tls")
    args = parser.parse_args()
    users = args.users or (20 if args.spawner == "docker" else 10)
    names = [f"b{i:03d}" for i in range(users)]
    roster = [("trainer", "", "instructor"), ("solo", "solo", "participant")]
    roster += [(name, "crowd", "participant") for name in names]
    print(f"login-to-kernel-ready, {args.spawner} spawner (JupyterLab + python3 kernel)")
    if args.tls:
        http, https, crowds = compare_tls(args.spawner, roster, names, args.runs, args.crowds)
        for label, figures in ((", HTTP", http), (", HTTPS", https)):
            print_figures(figures, args.runs, users, label, args.crowds)
        print_tls_ratios(http, https, crowds, users)
        labelled = [(", HTTP", http), (", HTTPS", https)]
    else:
        figures = measure(args.spawner, roster, names, args.runs)
        print_figures(figures, args.runs, users)
        for line in image_figures() if args.spawner == "docker" else []:
            print(line)
        labelled = [("", figures)]
    for label, figures in labelled:
        for failure in figures.cold.failures + (figures.warmed.failures if figures.warmed else []):
            print(f"  failed{label}:", failure)


def print_tls_ratios(http: Figures, https: Figures, crowds: dict, users: int) -> None:
    """Each crowd's p95 and median, then HTTPS/HTTP: the median participant alone, and
    the median over crowds of each crowd's p95 (and median)."""
    for kind, summaries in crowds.items():
        shown = ", ".join(f"p95 {p95:.2f}s median {median:.2f}s" for p95, median in summaries)
        print(f"{users} at once, {kind.upper():<5} each crowd: {shown}")

    def crowds_median(kind: str, which: int) -> float:
        return statistics.median(summary[which] for summary in crowds[kind])

    def alone(figures: Figures) -> float:
        return statistics.median(sum(phases) for phases in figures.alone)

    p95 = crowds_median("https", 0) / crowds_median("http", 0)
    median = crowds_median("https", 1) / crowds_median("http", 1)
    print(
        f"HTTPS/HTTP ratio: 1 participant median {alone(https) / alone(http):.2f}x "
        f"(target <= 1.15), {users} at once p95 {p95:.2f}x (target <= 1.15), median {median:.2f}x"
    )


if __name__ == "__main__":
    main()
