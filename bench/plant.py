"""What live plants cost: CPU and memory per plant with --teams plants at 1 Hz in the
lab's one plant process, against one plant alone; and the lag between a register
changing on a PLC and its row in `plant.history()`.

1. --teams plants (default 6) at real time (speed 1) for --seconds (default 120):
   the process's CPU time over that span and its memory (RSS and PSS, read from
   /proc), divided per plant; the same for a process with one plant.
2. Lag, per plant: a client polls PLC1's registers over Modbus/TCP every 20 ms; when
   they change (a new plant second), it polls the data API's history every 20 ms
   until that second's row is there. Median and p95 over every change seen.

--record puts the process's fixed cost, each further plant's RSS and each plant's CPU
into the capacity planner's file (paths.CAPACITY_FIGURES, the part "plant"), keeping
its other parts; `icslab bench` passes it.

    .venv/bin/python bench/plant.py [--teams 6] [--seconds 120] [--record]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from pymodbus.client import ModbusTcpClient

from icslab.cluster.capacity import measured_here, record
from icslab.paths import CAPACITY_FIGURES, REPO
from icslab.plant import connect, lifecycle
from icslab.plant.plc import PLCS, UNIT_IDS

POLL = 0.02  # s


def measure(folders: list[Path], plants: Path, seconds: float, lag: bool) -> dict:
    lifecycle.start_plants(plants, folders)
    host = lifecycle.host_pid(plants)
    if host is None:
        raise SystemExit(f"the plants in {plants} did not start: see {plants}/plants.log")
    process = psutil.Process(host[0])
    lags: list[float] = []
    stop = threading.Event()
    watchers = [threading.Thread(target=watch_lag, args=(f, lags, stop)) for f in folders]
    try:
        time.sleep(10)  # warm: imports done, the first day drawn
        before = process.cpu_times()
        if lag:
            for watcher in watchers:
                watcher.start()
        started = time.monotonic()
        time.sleep(seconds)
        after, span = process.cpu_times(), time.monotonic() - started
        memory = process.memory_full_info()
        stop.set()
        for watcher in watchers if lag else []:
            watcher.join()
    finally:
        process.terminate()
        process.wait(10)
    cpu = (after.user + after.system - before.user - before.system) / span
    return {"cpu": cpu, "rss": memory.rss, "pss": memory.pss, "lags": lags}


def watch_lag(folder: Path, lags: list[float], stop: threading.Event) -> None:
    """Register change -> its row in history, for one plant, until `stop`."""
    plant = connect(lifecycle.data_url(folder))
    host, port = lifecycle.load_config(folder).plcs["PLC1"]
    modbus = ModbusTcpClient(host, port=port)
    modbus.connect()
    count, unit = len(PLCS["PLC1"]), UNIT_IDS["PLC1"]
    last = modbus.read_holding_registers(0, count=count, device_id=unit).registers
    latest = plant.history("1s").index.max()
    while not stop.is_set():
        now = modbus.read_holding_registers(0, count=count, device_id=unit).registers
        if now == last:
            time.sleep(POLL)
            continue
        changed, last = time.monotonic(), now
        while not stop.is_set():
            rows = plant._frame(after=latest.isoformat())
            if len(rows):
                lags.append(time.monotonic() - changed)
                latest = rows.index.max()
                break
            time.sleep(POLL)
    modbus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument(
        "--record",
        action="store_true",
        help=f"put the figures into {CAPACITY_FIGURES.relative_to(REPO)} for the capacity planner",
    )
    args = parser.parse_args()
    if args.record and args.teams < 2:
        parser.error("--record needs --teams 2 or more (a plant's cost is what each one adds)")
    where = measured_here(["bench/plant.py", *sys.argv[1:]])  # the code as it starts
    with tempfile.TemporaryDirectory(prefix="icslab-bench-plant-") as scratch:
        results = {}
        for label, teams, lag in (
            ("one plant", 1, False),
            (f"{args.teams} plants", args.teams, True),
        ):
            plants = Path(scratch) / label.replace(" ", "-")
            plants.mkdir()
            folders = [lifecycle.prepare(plants / f"team{i}", f"team{i}", 1.0, False)
                       for i in range(teams)]  # fmt: skip
            print(f"{label}: {args.seconds:g} s at 1 Hz ...", flush=True)
            results[label] = (teams, measure(folders, plants, args.seconds, lag))
    print("\nprocess       plants  CPU %/plant  RSS MiB/plant  PSS MiB/plant  (process RSS)")
    for label, (teams, r) in results.items():
        print(f"  {label:12s} {teams:6d} {100 * r['cpu'] / teams:11.2f} "
              f"{r['rss'] / teams / 2**20:14.1f} {r['pss'] / teams / 2**20:14.1f}"
              f"  ({r['rss'] / 2**20:.0f} MiB)")  # fmt: skip
    lags = sorted(results[f"{args.teams} plants"][1]["lags"])
    p95 = lags[int(0.95 * (len(lags) - 1))]
    print(f"register change -> row in history(): median {statistics.median(lags):.3f} s, "
          f"p95 {p95:.3f} s, max {lags[-1]:.3f} s over {len(lags)} changes")  # fmt: skip
    if args.record:
        record("plant", capacity_part(where, results["one plant"][1],
                                      results[f"{args.teams} plants"][1], args.teams))  # fmt: skip
        print(f"recorded in {CAPACITY_FIGURES.relative_to(REPO)} (part 'plant')")


def capacity_part(where: dict, alone: dict, shared: dict, teams: int) -> dict:
    """The figures the capacity planner reads (icslab.cluster.capacity.PlantFigures): what
    each plant adds to the process (RSS, from one plant to `teams`), and what is left,
    the process's own cost. A plant's CPU is measured while a client polls its PLC1 and
    its history every 20 ms (the lag's watchers): more than a team's notebooks ask."""
    per_plant = max(0, (shared["rss"] - alone["rss"]) // (teams - 1))
    return {
        "measured": where,
        "plants": teams,
        "process_bytes": max(1, alone["rss"] - per_plant),
        "per_plant_bytes": per_plant,
        "per_plant_cores": shared["cpu"] / teams,
    }


if __name__ == "__main__":
    main()
