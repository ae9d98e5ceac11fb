"""Time the whole ICS-week curriculum, top to bottom, on the full datasets.

Target: every notebook of the instructor version (each self-check answered and
passing) in under 3 minutes on this machine (2 cores).

    .venv/bin/python bench/notebooks.py [--runs 3] [--workshop ics-week] [--quick]

Each run builds the workshop, then executes its notebooks one after the other in
fresh kernels (kernel start included, as a participant's Run All). Prints each
notebook's median and the total's median and spread.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from icslab.capstone import practice_environment
from icslab.notebooks.build import build_workshop
from icslab.notebooks.execute import QUICK, execute
from icslab.notebooks.manifest import load_workshop
from icslab.paths import REPO

BATADAL = REPO.parent / "shared" / "data" / "batadal"
TARGET_SECONDS = 180


def run_once(workshop, quick: bool) -> dict[str, float]:
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="icslab-bench-") as scratch:
        folder = build_workshop(workshop, Path(scratch) / "build")["instructor"]
        env = practice_environment(Path(scratch) / "submissions")
        if BATADAL.is_dir():
            env["ICSLAB_BATADAL"] = str(BATADAL)
        for module in workshop.modules:
            notebook = nbformat.read(folder / module.file, as_version=4)
            started = time.perf_counter()
            execute(
                notebook,
                cwd=folder,
                parameters=QUICK if quick else None,
                strict_checks=True,
                env=env,
                timeout=900,
            )
            seconds[module.file] = time.perf_counter() - started
            print(f"  {module.file:32s} {seconds[module.file]:6.1f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workshop", default="ics-week")
    parser.add_argument("--quick", action="store_true", help="the sample datasets (as the tests)")
    args = parser.parse_args()
    workshop = load_workshop(args.workshop)
    print(f"{workshop.name}: {len(workshop.modules)} notebooks, instructor version, "
          f"{'sample' if args.quick else 'full'} datasets, {args.runs} run(s)")  # fmt: skip
    runs = []
    for run in range(1, args.runs + 1):
        print(f"run {run}:")
        runs.append(run_once(workshop, args.quick))
    print("\nnotebook                          median s")
    for file in runs[0]:
        print(f"  {file:32s} {statistics.median(r[file] for r in runs):6.1f}")
    totals = [sum(r.values()) for r in runs]
    verdict = "met" if statistics.median(totals) < TARGET_SECONDS else "NOT met"
    print(f"whole curriculum: median {statistics.median(totals):.1f} s "
          f"(min {min(totals):.1f}, max {max(totals):.1f}); "
          f"target < {TARGET_SECONDS} s: {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
