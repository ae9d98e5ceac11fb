"""Time `homework collect`'s PDFs: seconds to print one curriculum notebook, with its
outputs and plotly figures, in the lab's isolated chromium (a fresh browser each).

    .venv/bin/python bench/homework_pdf.py [--runs 3] [--workshop ics-week] [--full]

Executes the workshop's instructor notebooks once (sample datasets unless --full), as
a team would hand them in, then prints each one --runs times. Prints each notebook's
figures, size and median seconds, and the median over every notebook and run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from icslab.capstone import practice_environment
from icslab.homework.pdf import PLOTLY_MIME, Renderer
from icslab.notebooks.build import build_workshop
from icslab.notebooks.execute import QUICK, execute
from icslab.notebooks.manifest import load_workshop


def figures(notebook) -> int:
    return sum(
        PLOTLY_MIME in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workshop", default="ics-week")
    parser.add_argument("--full", action="store_true", help="the full datasets")
    args = parser.parse_args()
    workshop = load_workshop(args.workshop)
    with tempfile.TemporaryDirectory(prefix="icslab-bench-") as scratch:
        folder = build_workshop(workshop, Path(scratch) / "build")["instructor"]
        handed_in = Path(scratch) / "handed-in"
        handed_in.mkdir()
        env = practice_environment(Path(scratch) / "submissions")
        print(f"executing {len(workshop.modules)} notebooks ...", flush=True)
        for module in workshop.modules:
            notebook = nbformat.read(folder / module.file, as_version=4)
            done = execute(notebook, cwd=folder, parameters=None if args.full else QUICK, env=env)
            nbformat.write(done, handed_in / module.file)
        seconds: dict[str, list[float]] = {}
        with Renderer() as renderer:
            for _ in range(args.runs):
                for module in workshop.modules:
                    started = time.perf_counter()
                    renderer.pdf(handed_in, module.file)
                    seconds.setdefault(module.file, []).append(time.perf_counter() - started)
        print("\nnotebook                          figures      KiB   median s")
        for module in workshop.modules:
            notebook = nbformat.read(handed_in / module.file, as_version=4)
            size = (handed_in / module.file).stat().st_size >> 10
            median = statistics.median(seconds[module.file])
            print(f"  {module.file:32s} {figures(notebook):7d} {size:8d} {median:9.2f}")
    every = [s for runs in seconds.values() for s in runs]
    print(f"one notebook to PDF: median {statistics.median(every):.2f} s "
          f"(min {min(every):.2f}, max {max(every):.2f}) over {len(every)} prints")  # fmt: skip


if __name__ == "__main__":
    main()
