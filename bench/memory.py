"""Memory while a whole room runs the same notebook at once, in docker mode.

A real docker-mode lab (`icslab up`, the participant image, a docker prefix of
its own) with N participants (--participants, default 10), who log in and start
their servers. Then, module by module, all N run the module's instructor version
(solutions filled in, self-checks strict) at the same moment, each in their own
container. By default (--via browser) as their browser would: cell by cell over
the kernel's websocket, through the lab's proxy, in the kernel their server hands
out, so that a container holds what it holds in a real week (their server and its
kernels, no client). --via nbconvert runs `docker exec` as jovyan (uid 1000), with
the container's environment, `jupyter nbconvert --to notebook --execute` on a
copy in their work folder. The
datasets are the notebooks' own defaults (the full ones), unless --quick (the
sample datasets the tests use) or --data NAME=dataset,... says otherwise. The
image carries no BATADAL files unless an instructor fetched them before building
it: for 07-capstone's part 2 the bench copies them (--batadal, by default
../shared/data/batadal when there) into each work folder and points
$ICSLAB_BATADAL there, and the hub's hand-in service at them.

Every ~0.5 s while they run it samples, from the host:
  - each participant's kernel process: its USS (private memory: what only it
    holds), with psutil (container processes are visible in the host's /proc),
    and its anonymous memory (smaps_rollup): USS also counts the pages of a
    mapped dataset that no other process maps at that moment, anon never does;
  - each container's memory cgroup: anon (cgroup v2 `anon`; v1 `total_rss`), its
    page cache (v2 `file`; v1 `total_cache`) and its OOM kills (v2 memory.events,
    v1 memory.oom_control);
  - the host's /proc/meminfo: used memory (MemTotal - MemAvailable) and the page
    cache (`Cached`, which already includes `Shmem`: tmpfs and shared memory).
  - each container's CPU time (cgroup v2 cpu.stat usage_usec; v1 cpuacct.usage): its
    CPU-seconds over the module and its highest use between two samples, in cores;
  - the hub, its proxy and the lab's services: their summed PSS.
and prints one row per module: each participant's peak kernel USS and peak
cgroup anon (median and max over participants), how much the host's page cache
grew, the sum of the cgroups' page cache at its peak, the host's used memory
before the module and at its peak, the executions' wall times, and every failed
execution and OOM kill (reported, never hidden). No figure is a pass or a fail.
Before the first module, once the machine is quiet, it reads each idle server's
container (cgroup anon) and the hub's PSS. --record puts these figures into the
capacity planner's file (paths.CAPACITY_FIGURES, the part "memory"), keeping its
other parts; `icslab bench` passes it.

Each participant's memory limit is --memory-limit (default 4G, above the lab's
usual limits.memory so that the bench measures rather than OOM-kills; the lab's
own value is printed alongside). The page cache is not dropped between modules:
a module that reads what an earlier one read finds it cached, as in a real week.

    .venv/bin/python bench/memory.py [--participants 10] [--modules 00,02,07] [--via nbconvert]
                                     [--memory-limit 4G] [--quick | --data TRAIN=train,...]
                                     [--batadal FOLDER] [--record]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import nbformat
import psutil

from icslab.checks import STRICT_ENV
from icslab.cluster.capacity import measured_here, record
from icslab.data.plant import BATADAL_ENV, BATADAL_FILES
from icslab.hub.docker_env import remove_lab_resources
from icslab.hub.teams import IMAGE_HOME
from icslab.notebooks.build import build_workshop
from icslab.notebooks.execute import QUICK, with_parameters
from icslab.notebooks.manifest import Module, load_workshop
from icslab.paths import CAPACITY_FIGURES, REPO
from icslab.plant import networks as plant_networks
from icslab.testing import PARTICIPANT_IMAGE, RunningLab, unique_prefix
from icslab.testing.client import LabClient, LabError
from icslab.testing.machine import wait_until_quiet

WORKSHOP = "ics-week"
FOLDER = "bench-memory"  # in each participant's work folder (their volume)
WORKDIR = f"{IMAGE_HOME}/{FOLDER}"
JOVYAN = "1000:100"  # the image's participant user and group (users)
SAMPLE_SECONDS = 0.5
MiB = 2**20
GiB = 2**30
CGROUP = Path("/sys/fs/cgroup")
BATADAL = REPO.parent / "shared" / "data" / "batadal"  # as bench/notebooks.py
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the colours of IPython's tracebacks


@dataclass
class Participant:
    name: str
    container: str  # the container's name: DockerSpawner's "{prefix}-{username}"
    cgroup: Path  # its memory cgroup's folder
    cgroup_v1: bool
    client: LabClient  # logged in as the participant, as their browser is
    cpu_usage: Path  # its CPU cgroup's file of CPU time used so far
    kernel_id: str = ""  # the kernel their server handed out (--via browser)
    kernel: psutil.Process | None = None  # the notebook's kernel, once seen


def memory_cgroup(pid: int) -> tuple[Path, bool]:
    """The memory cgroup folder of a process as the host sees it, and whether it is
    cgroup v1 (a `memory` controller line) rather than v2 (the unified `0::` line)."""
    unified = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return CGROUP / "memory" / path.lstrip("/"), True
        if number == "0" and not controllers:
            unified = CGROUP / path.lstrip("/")
    if unified is None or not (unified / "memory.stat").exists():
        raise RuntimeError(f"process {pid}: no memory cgroup found in /proc/{pid}/cgroup")
    return unified, False


def cpu_usage_file(pid: int) -> Path:
    """The file of a process's CPU cgroup that counts its CPU time: cgroup v1
    cpuacct.usage (ns) or v2 cpu.stat (usage_usec)."""
    unified = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return CGROUP / controllers / path.lstrip("/") / "cpuacct.usage"
        if number == "0" and not controllers:
            unified = CGROUP / path.lstrip("/") / "cpu.stat"
    if unified is None or not unified.exists():
        raise RuntimeError(f"process {pid}: no CPU cgroup found in /proc/{pid}/cgroup")
    return unified


def cpu_seconds(usage: Path) -> float:
    """CPU time a cgroup has used so far, in seconds."""
    if usage.name == "cpuacct.usage":
        return int(usage.read_text()) / 1e9
    return read_keyed(usage)["usage_usec"] / 1e6


def rollup(pid: int) -> dict[str, int]:
    """A process's /proc/PID/smaps_rollup in bytes (Rss, Pss, Anonymous, ...)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) * 1024
    return values


def summed_pss(processes: list[psutil.Process]) -> int:
    """The PSS of processes together (those that exited meanwhile count 0)."""
    total = 0
    for process in processes:
        with contextlib.suppress(OSError):
            total += rollup(process.pid)["Pss"]
    return total


def read_keyed(path: Path) -> dict[str, int]:
    """A cgroup file of `key value` lines (memory.stat, memory.events, oom_control)."""
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            values[key] = int(value)
    return values


def cgroup_memory(participant: Participant) -> tuple[int, int, int]:
    """(anon bytes, page cache bytes, OOM kills so far) of a participant's container."""
    stat = read_keyed(participant.cgroup / "memory.stat")
    if participant.cgroup_v1:
        oom = read_keyed(participant.cgroup / "memory.oom_control").get("oom_kill", 0)
        return stat.get("total_rss", 0), stat.get("total_cache", 0), oom
    oom = read_keyed(participant.cgroup / "memory.events").get("oom_kill", 0)
    return stat.get("anon", 0), stat.get("file", 0), oom


def meminfo() -> dict[str, int]:
    """The host's /proc/meminfo, in bytes."""
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) * 1024
    return values


def host_used(info: Mapping[str, int]) -> int:
    return info["MemTotal"] - info["MemAvailable"]


def find_kernel(participant: Participant) -> psutil.Process | None:
    """The notebook's kernel in the participant's container: the one their server handed
    out (its connection file is named by its id), or the one nbconvert started (not the
    server's spare kernel, whose parent is jupyterhub-singleuser)."""
    try:
        pids = [int(pid) for pid in (participant.cgroup / "cgroup.procs").read_text().split()]
    except OSError:
        return None
    for pid in pids:
        try:
            process = psutil.Process(pid)
            parent = process.parent()
            command = " ".join(process.cmdline())
            if "ipykernel_launcher" not in command:
                continue
            if participant.kernel_id:
                if f"kernel-{participant.kernel_id}.json" in command:
                    return process
            elif parent is not None and "nbconvert" in " ".join(parent.cmdline()):
                return process
        except psutil.Error:
            continue  # exited meanwhile
    return None


@dataclass
class Peaks:
    """Peaks over one module's run, in bytes; per participant where keyed by name."""

    uss: dict[str, int] = field(default_factory=dict)
    kernel_anon: dict[str, int] = field(default_factory=dict)
    kernel_file: dict[str, int] = field(default_factory=dict)  # mapped files resident (Rss - anon)
    anon: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # over the module
    cores: dict[str, float] = field(default_factory=dict)  # highest use between two samples
    hub_pss: int = 0
    cgroups_file: int = 0  # the sum over containers, at its peak
    host_used: int = 0
    cached: int = 0
    oom_kills: dict[str, int] = field(default_factory=dict)
    samples: int = 0


class Sampler(threading.Thread):
    """Samples every SAMPLE_SECONDS until stopped; `peaks` holds the result."""

    def __init__(self, participants: list[Participant], hub: list[psutil.Process]):
        super().__init__(daemon=True)
        self.participants = participants
        self.hub = hub
        self.peaks = Peaks()
        self.halt = threading.Event()
        self.oom_before = {p.name: cgroup_memory(p)[2] for p in participants}
        self.cpu_before = {p.name: cpu_seconds(p.cpu_usage) for p in participants}
        self.cpu_last = {p.name: (time.monotonic(), self.cpu_before[p.name]) for p in participants}
        for participant in participants:
            participant.kernel = None

    def run(self) -> None:
        while not self.halt.is_set():
            started = time.monotonic()
            self.sample()
            self.halt.wait(max(0.0, SAMPLE_SECONDS - (time.monotonic() - started)))
        self.sample()  # OOM kills counted up to the end

    def sample(self) -> None:
        peaks = self.peaks
        files = 0
        for participant in self.participants:
            name = participant.name
            with contextlib.suppress(OSError):  # the container stopped (killed?)
                anon, file, oom = cgroup_memory(participant)
                peaks.anon[name] = max(peaks.anon.get(name, 0), anon)
                peaks.oom_kills[name] = oom - self.oom_before[name]
                files += file
            with contextlib.suppress(OSError):
                now, used = time.monotonic(), cpu_seconds(participant.cpu_usage)
                then, before = self.cpu_last[name]
                if now - then >= SAMPLE_SECONDS / 2:
                    cores = (used - before) / (now - then)
                    peaks.cores[name] = max(peaks.cores.get(name, 0.0), cores)
                    self.cpu_last[name] = (now, used)
                peaks.cpu_seconds[name] = used - self.cpu_before[name]
            if participant.kernel is None or not participant.kernel.is_running():
                participant.kernel = find_kernel(participant)
            if participant.kernel is not None:
                with contextlib.suppress(psutil.Error, OSError):
                    uss = participant.kernel.memory_full_info().uss
                    peaks.uss[name] = max(peaks.uss.get(name, 0), uss)
                    mapped = rollup(participant.kernel.pid)
                    anon = mapped["Anonymous"]
                    peaks.kernel_anon[name] = max(peaks.kernel_anon.get(name, 0), anon)
                    file = mapped["Rss"] - anon
                    peaks.kernel_file[name] = max(peaks.kernel_file.get(name, 0), file)
        info = meminfo()
        peaks.cgroups_file = max(peaks.cgroups_file, files)
        peaks.host_used = max(peaks.host_used, host_used(info))
        peaks.cached = max(peaks.cached, info["Cached"])
        peaks.hub_pss = max(peaks.hub_pss, summed_pss(self.hub))
        peaks.samples += 1

    def stop(self) -> Peaks:
        self.halt.set()
        self.join()
        return self.peaks


@dataclass
class Execution:
    name: str
    returncode: int
    seconds: float
    error: str  # why it failed: the kernel's error, or the end of what nbconvert printed


def execute_in(
    participant: Participant,
    file: str,
    timeout: int,
    start: threading.Barrier,
    batadal: bool,
) -> Execution:
    """Run the notebook `file` of the participant's FOLDER in their own container, as
    they would from a terminal in JupyterLab: as jovyan, in the container's environment."""
    output = file.removesuffix(".ipynb") + ".out"
    command = [
        "docker", "exec", "--user", JOVYAN, "--workdir", WORKDIR,
        "--env", f"{STRICT_ENV}=1",
        *(["--env", f"{BATADAL_ENV}={WORKDIR}/batadal"] if batadal else []),
        participant.container,
        "jupyter", "nbconvert", "--to", "notebook", "--execute",
        f"--ExecutePreprocessor.timeout={timeout}",
        "--ExecutePreprocessor.kernel_name=python3",
        "--output", output, file,
    ]  # fmt: skip
    start.wait()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    seconds = time.perf_counter() - started
    error = ""
    if done.returncode != 0:
        printed = ANSI.sub("", done.stdout + done.stderr)
        lines = [line.strip() for line in printed.splitlines() if line.strip()]
        error = " | ".join(lines[-3:])[-400:]
    return Execution(participant.name, done.returncode, seconds, error)


def execute_as_browser(
    participant: Participant,
    notebook: bytes,
    timeout: int,
    start: threading.Barrier,
    batadal: bool,
) -> Execution:
    """Run the notebook's code cells one by one as the participant's browser does: in the
    kernel their server hands out (the spare one), over the kernel's websocket through
    the lab's proxy. Their container then holds what it holds in a real week: their
    server and its kernels, no client process."""
    cells = nbformat.reads(notebook.decode(), as_version=4).cells
    code = [cell.source for cell in cells if cell.cell_type == "code"]
    setup = f"import os\nos.chdir({WORKDIR!r})\nos.environ[{STRICT_ENV!r}] = '1'\n" + (
        f"os.environ[{BATADAL_ENV!r}] = {WORKDIR + '/batadal'!r}\n" if batadal else ""
    )
    client = participant.client
    participant.kernel_id = client.start_kernel()
    start.wait()
    started = time.perf_counter()
    error = ""
    try:
        client.execute(participant.kernel_id, setup)
        for source in code:
            client.execute(participant.kernel_id, source, timeout=timeout)
    except (LabError, TimeoutError, OSError) as failure:
        error = f"{type(failure).__name__}: {failure}"[-400:]
    seconds = time.perf_counter() - started
    with contextlib.suppress(LabError, OSError):
        client.shutdown_kernel(participant.kernel_id)
    participant.kernel_id = ""
    return Execution(participant.name, 1 if error else 0, seconds, error)


def put_files(
    engine: docker.DockerClient, participant: Participant, files: Mapping[str, bytes]
) -> None:
    """Place files (paths relative to FOLDER) in the participant's work folder, owned
    by them (uid 1000), as if they had uploaded them."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        folders = {FOLDER} | {f"{FOLDER}/{Path(path).parent}" for path in files}
        for name in sorted(folders - {f"{FOLDER}/."}):
            folder = tarfile.TarInfo(name)
            folder.type, folder.mode, folder.uid, folder.gid = tarfile.DIRTYPE, 0o755, 1000, 100
            tar.addfile(folder)
        for path, data in files.items():
            entry = tarfile.TarInfo(f"{FOLDER}/{path}")
            entry.size, entry.mode, entry.uid, entry.gid = len(data), 0o644, 1000, 100
            entry.mtime = int(time.time())
            tar.addfile(entry, io.BytesIO(data))
    if not engine.containers.get(participant.container).put_archive(IMAGE_HOME, archive.getvalue()):
        raise RuntimeError(f"could not copy {', '.join(files)} into {participant.container}")


@dataclass
class ModuleFigures:
    module: str
    peaks: Peaks
    executions: list[Execution]
    baseline_used: int
    baseline_cached: int
    quiet: bool


def run_module(
    engine: docker.DockerClient,
    participants: list[Participant],
    hub: list[psutil.Process],
    module: Module,
    notebook: bytes,
    timeout: int,
    batadal: bool,
    via: str,
) -> ModuleFigures:
    """Everyone runs `notebook` at the same moment, sampled until the last finishes."""
    for participant in participants:
        put_files(engine, participant, {module.file: notebook})
    quiet = wait_until_quiet(timeout=120, idle_share=0.85)
    before = meminfo()
    start = threading.Barrier(len(participants))
    sampler = Sampler(participants, hub)
    sampler.start()
    with ThreadPoolExecutor(len(participants)) as pool:
        futures = [
            pool.submit(execute_as_browser, participant, notebook, timeout, start, batadal)
            if via == "browser"
            else pool.submit(execute_in, participant, module.file, timeout, start, batadal)
            for participant in participants
        ]
        executions = [future.result() for future in futures]
    peaks = sampler.stop()
    return ModuleFigures(
        module.file.removesuffix(".ipynb"),
        peaks,
        executions,
        host_used(before),
        before["Cached"],
        quiet,
    )


HEADER = (
    f"{'module':<22} {'N':>3}  {'kernel USS MiB':>15}  {'kernel anon MiB':>15}  "
    f"{'cgroup anon MiB':>15}  "
    f"{'cache +MiB':>10}  {'cgroups file MiB':>16}  {'host used GiB':>14}  "
    f"{'wall s':>11}  {'CPU s':>11}  {'cores':>9}  failures"
)
UNDER = (
    f"{'':<22} {'':>3}  {'median/max':>15}  {'median/max':>15}  {'median/max':>15}  "
    f"{'':>10}  {'(sum, peak)':>16}  "
    f"{'before->peak':>14}  {'median/max':>11}  {'median/max':>11}  {'med/max':>9}"
)


def median_max(values: list[float], scale: float, width: int, digits: int = 0) -> str:
    if not values:
        return f"{'-':>{width}}"
    shown = f"{statistics.median(values) / scale:.{digits}f}/{max(values) / scale:.{digits}f}"
    return f"{shown:>{width}}"


def row(figures: ModuleFigures, participants: int) -> list[str]:
    """The module's row, then one line per failed execution or OOM kill."""
    peaks = figures.peaks
    failed = [e for e in figures.executions if e.returncode != 0]
    oom = {name: kills for name, kills in peaks.oom_kills.items() if kills}
    failures = f"{len(failed)} failed, {sum(oom.values())} OOM kills"
    host = f"{figures.baseline_used / GiB:.1f}->{peaks.host_used / GiB:.1f}"
    cache = (peaks.cached - figures.baseline_cached) / MiB
    line = (
        f"{figures.module:<22} {participants:>3}  "
        f"{median_max([float(v) for v in peaks.uss.values()], MiB, 15)}  "
        f"{median_max([float(v) for v in peaks.kernel_anon.values()], MiB, 15)}  "
        f"{median_max([float(v) for v in peaks.anon.values()], MiB, 15)}  "
        f"{cache:>+10.0f}  {peaks.cgroups_file / MiB:>16.0f}  {host:>14}  "
        f"{median_max([e.seconds for e in figures.executions], 1, 11)}  "
        f"{median_max(list(peaks.cpu_seconds.values()), 1, 11)}  "
        f"{median_max(list(peaks.cores.values()), 1, 9, 1)}  {failures}"
    )
    lines = [line]
    if len(peaks.uss) < participants:
        lines.append(f"    kernel USS seen for {len(peaks.uss)}/{participants} participants only")
    if not figures.quiet:
        lines.append("    (the machine was still busy when this module started)")
    lines += [f"    {e.name} failed (exit {e.returncode}): {e.error}" for e in failed]
    lines += [f"    {name}'s container: {kills} OOM kill(s)" for name, kills in oom.items()]
    return lines


@dataclass
class Idle:
    anon: list[int]  # each idle server's container
    hub_pss: int


def idle_figures(participants: list[Participant], hub: list[psutil.Process]) -> Idle:
    """Every server started and the machine quiet: each container's anon, the hub's PSS."""
    if not wait_until_quiet(timeout=180, idle_share=0.85):
        print("(the machine was still busy when idle servers were measured)")
    idle = Idle([cgroup_memory(p)[0] for p in participants], summed_pss(hub))
    print(
        f"idle servers: cgroup anon {median_max([float(v) for v in idle.anon], MiB, 0)} MiB "
        f"(median/max); hub, proxy and services: {idle.hub_pss / MiB:.0f} MiB PSS",
        flush=True,
    )
    return idle


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "max": max(values)} if values else {
        "median": 0.0, "max": 0.0}  # fmt: skip


def capacity_part(
    provenance: dict[str, Any],
    idle: Idle,
    measured: list[ModuleFigures],
    participants: int,
    datasets: str,
) -> dict[str, Any]:
    """The figures the capacity planner reads (icslab.cluster.capacity.MemoryFigures)."""
    modules = {}
    for figures in measured:
        peaks = figures.peaks
        modules[figures.module] = {
            "private_bytes": spread([float(v) for v in peaks.anon.values()]),
            "kernel_uss_bytes": spread([float(v) for v in peaks.uss.values()]),
            "cpu_seconds": spread(list(peaks.cpu_seconds.values())),
            "peak_cores": spread(list(peaks.cores.values())),
            "wall_seconds": spread([e.seconds for e in figures.executions]),
            "page_cache_growth_bytes": max(0, peaks.cached - figures.baseline_cached),
            "failures": sum(1 for e in figures.executions if e.returncode != 0),
            "oom_kills": sum(peaks.oom_kills.values()),
        }
    # What kernels map from files (datasets, libraries) is in the page cache once per node.
    shared = max((max(f.peaks.kernel_file.values(), default=0) for f in measured), default=0)
    return {
        "measured": provenance,
        "participants": participants,
        "datasets": datasets,
        "idle_server_bytes": spread([float(v) for v in idle.anon]),
        "hub_bytes": max([idle.hub_pss, *(f.peaks.hub_pss for f in measured)]),
        "shared_data_bytes": shared,
        "modules": modules,
    }


def parse_data(text: str) -> dict[str, str]:
    """NAME=dataset,... (the notebooks' parameter names: TRAIN, TEST, CAPSTONE)."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{item!r}: write NAME=dataset, e.g. TRAIN=train")
        pairs[name.strip()] = value.strip()
    return pairs


def lab_memory_limit() -> str:
    settings = tomllib.loads((REPO / "hub_config" / "lab.toml").read_text(encoding="utf-8"))
    return str(settings.get("limits", {}).get("memory", "2G"))


@contextlib.contextmanager
def room(
    names: list[str], memory_limit: str
) -> Iterator[tuple[list[Participant], list[psutil.Process]]]:
    """A docker-mode lab in a folder of its own, with every participant's server
    started, and the hub's processes (hub, proxy, services); everything with its
    prefix is removed afterwards."""
    prefix = unique_prefix()
    roster = [("trainer", "", "instructor")]
    roster += [(name, f"team{i // 4 + 1}", "participant") for i, name in enumerate(names)]
    sections: dict[str, Any] = {
        "hub": {"spawner": "docker"},
        "docker": {"prefix": prefix, "image": PARTICIPANT_IMAGE},
        # A notebook's run writes little: 1G each lets 20 participants fit the disk check.
        "limits": {"memory": memory_limit, "disk": "1G"},
        # The hand-in service checks capstone predictions against these, as a real
        # lab's (hub_config/lab.toml: ../datasets/build) does; the image has its own copy.
        "data": {"datasets": str(REPO / "datasets" / "build")},
    }
    print(f"lab: docker prefix {prefix}, image {PARTICIPANT_IMAGE}", flush=True)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="icslab-bench-") as folder,
            RunningLab(Path(folder), roster=roster, **sections) as lab,
        ):

            def start(name: str) -> None:
                with lab.login(name) as client:
                    client.start_server(timeout=600)

            # The teams' plant networks and folders, as `icslab plant up` makes them (with
            # no plant running): servers join them at start. On an engine in swarm mode,
            # joining a missing network fails with a 500, not NotFound, and the spawner
            # then refuses to start the server.
            for team in sorted({team for _, team, _ in roster if team}):
                plant_networks.ensure(docker.from_env(), prefix, team)
                (lab.resolved().paths.plants / team).mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            try:
                with ThreadPoolExecutor(len(names)) as pool:
                    list(pool.map(start, names))
            except Exception:
                print("servers did not start; the hub's log ends:", *lab.logs().splitlines()[-30:],
                      sep="\n", file=sys.stderr)  # fmt: skip
                raise
            print(
                f"{len(names)} servers started in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            engine = docker.from_env()
            participants = []
            for name in names:
                container = engine.containers.get(f"{prefix}-{name}")
                pid = int(container.attrs["State"]["Pid"])
                cgroup, v1 = memory_cgroup(pid)
                client = lab.login(name)
                participants.append(
                    Participant(name, f"{prefix}-{name}", cgroup, v1, client, cpu_usage_file(pid))
                )
            try:
                yield participants, lab.processes()
            finally:
                for participant in participants:
                    participant.client.close()
    finally:
        remove_lab_resources(prefix, volumes=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10, help="at once [10]")
    parser.add_argument("--modules", help="e.g. 00,02,07 [every module of ics-week]")
    parser.add_argument("--memory-limit", default="4G", help="per participant [4G]")
    parser.add_argument("--quick", action="store_true", help="the sample datasets (as the tests)")
    parser.add_argument("--data", type=parse_data, help="dataset names: TRAIN=train,TEST=...")
    parser.add_argument(
        "--batadal",
        type=Path,
        default=BATADAL if BATADAL.is_dir() else None,
        help=f"folder of the BATADAL CSVs for 07's part 2, copied into each work folder "
        f"['' for none; default {BATADAL} if there]",
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell [1800]")
    parser.add_argument(
        "--via",
        choices=("browser", "nbconvert"),
        default="browser",
        help="run cells through the lab as a browser does, in the kernel the server hands "
        "out [browser]; or with `jupyter nbconvert --execute` in each container",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help=f"put the figures into {CAPACITY_FIGURES.relative_to(REPO)} for the capacity planner",
    )
    args = parser.parse_args()
    if args.participants < 1:
        parser.error("--participants must be at least 1")
    batadal: dict[str, bytes] = {}
    if args.batadal and str(args.batadal) not in ("", "."):
        missing = [name for name in BATADAL_FILES if not (args.batadal / name).is_file()]
        if missing:
            parser.error(f"--batadal {args.batadal}: lacks {', '.join(missing)}")
        batadal = {f"batadal/{name}": (args.batadal / name).read_bytes() for name in BATADAL_FILES}
        # The hub's hand-in service checks BATADAL predictions against the same files.
        os.environ[BATADAL_ENV] = str(args.batadal.resolve())
    parameters = {**(QUICK if args.quick else {}), **(args.data or {})}
    workshop = load_workshop(WORKSHOP)
    wanted = [m.strip() for m in args.modules.split(",")] if args.modules else []
    modules = [m for m in workshop.modules if not wanted or m.file[:2] in wanted]
    unknown = set(wanted) - {m.file[:2] for m in workshop.modules}
    if unknown or not modules:
        parser.error(f"--modules: no module {', '.join(sorted(unknown)) or args.modules}")
    names = [f"r{i:02d}" for i in range(args.participants)]
    data = ", ".join(f"{k}={v}" for k, v in parameters.items()) or "full (notebook defaults)"
    print(f"{workshop.title}: {args.participants} participants run each module's instructor")
    print(f"version at once, docker mode, via {args.via}; datasets: {data}")
    print(
        f"memory limit per participant: {args.memory_limit} (hub_config/lab.toml limits.memory: "
        f"{lab_memory_limit()}); host: {os.cpu_count()} CPUs, "
        f"{meminfo()['MemTotal'] / GiB:.1f} GiB",
    )
    where = f"{args.batadal}, copied to each work folder" if batadal else "none (part 2 skipped)"
    print(f"BATADAL for 07-capstone: {where}", flush=True)
    bench_started = time.perf_counter()
    provenance = measured_here(["bench/memory.py", *sys.argv[1:]])  # the code as it starts
    rows: list[str] = []
    measured: list[ModuleFigures] = []
    with tempfile.TemporaryDirectory(prefix="icslab-bench-") as scratch:
        folder = build_workshop(workshop, Path(scratch) / "build")["instructor"]
        with room(names, args.memory_limit) as (participants, hub):
            engine = docker.from_env()
            image = engine.images.get(PARTICIPANT_IMAGE)
            created = str(image.attrs.get("Created", ""))[:19]
            print(f"image {PARTICIPANT_IMAGE}: {image.short_id}, built {created}")
            cgroup = participants[0].cgroup
            version = "v1 total_rss/total_cache" if participants[0].cgroup_v1 else "v2 anon/file"
            print(f"memory cgroups: {version} ({cgroup})")
            for participant in participants if batadal else []:
                put_files(engine, participant, batadal)
            idle = idle_figures(participants, hub)
            print(HEADER)
            print(UNDER, flush=True)
            for module in modules:
                notebook = with_parameters(
                    nbformat.read(folder / module.file, as_version=4), parameters
                )
                figures = run_module(
                    engine,
                    participants,
                    hub,
                    module,
                    nbformat.writes(notebook).encode(),
                    args.timeout,
                    bool(batadal),
                    args.via,
                )
                measured.append(figures)
                lines = row(figures, len(participants))
                rows += lines
                print("\n".join(lines), flush=True)
    print(f"\n{'=' * 40} summary ({time.perf_counter() - bench_started:.0f} s in all)")
    print(HEADER)
    print(UNDER)
    print("\n".join(rows))
    print(
        "kernel USS: the notebook's kernel process's private memory (psutil), with the pages of "
        "a mapped dataset that no other kernel maps at that moment; kernel anon: its anonymous "
        "memory (smaps_rollup), what it holds whoever shares the files; cgroup anon: the "
        "whole container's (server, spare kernel, the notebook's kernel; nbconvert too with "
        "--via nbconvert); cache +MiB: growth of "
        "the host's page cache (meminfo Cached, Shmem included) from before the module to its "
        "peak; cgroups file: the containers' page cache summed (a shared page counts once, "
        "in the cgroup that read it first); host used: MemTotal - MemAvailable; CPU s: the "
        "container's CPU time over the module; cores: its highest CPU use between two samples."
    )
    if args.record:
        record("memory", capacity_part(provenance, idle, measured, len(names), data))
        print(f"recorded in {CAPACITY_FIGURES.relative_to(REPO)} (part 'memory')")


if __name__ == "__main__":
    main()
