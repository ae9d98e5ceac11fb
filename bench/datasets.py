"""Build the 7-day training set with every export on ONE core; time loading it.

Targets: build under 20 s and 2 GiB peak memory; scada.parquet into pandas under 1 s.

    .venv/bin/python bench/datasets.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

BUILD = """
import os, sys, time
from pathlib import Path
os.sched_setaffinity(0, {0})  # one core, as the target says
from icslab.sim.build import build_dataset
from icslab.sim.catalog import load_catalog
spec = load_catalog().datasets["train"]
started = time.perf_counter()
build_dataset("train", spec, Path(sys.argv[1]))
print(time.perf_counter() - started)
"""


def build_once(out: Path) -> tuple[float, float]:
    """(seconds, peak RSS in GiB) of one build in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", BUILD, str(out)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: runs are alike, so keep it.
    return float(done.stdout.strip()), max(peak_kib, before) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="icslab-bench-") as folder:
        out = Path(folder)
        results = [build_once(out) for _ in range(args.runs)]
        scada = out / "train" / "scada.parquet"
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            frame = pd.read_parquet(scada)
            loads.append(time.perf_counter() - started)
        sizes = {p.name: p.stat().st_size / 2**20 for p in sorted((out / "train").iterdir())}
    seconds = [r[0] for r in results]
    print(f"7-day train set: {len(frame):,} rows x {frame.shape[1] - 1} tags, all exports, 1 core")
    print(
        f"  build     median {statistics.median(seconds):.1f} s  (runs: "
        f"{', '.join(f'{s:.1f}' for s in seconds)}; target < 20 s)"
    )
    print(f"  peak RSS  {max(r[1] for r in results):.2f} GiB  (target < 2 GiB)")
    print(
        f"  load scada.parquet into pandas: median {statistics.median(loads):.2f} s (target < 1 s)"
    )
    print("  files: " + ", ".join(f"{name} {mib:.1f} MiB" for name, mib in sizes.items()))
    print(f"  cores on this machine: {os.cpu_count()}")


if __name__ == "__main__":
    main()
