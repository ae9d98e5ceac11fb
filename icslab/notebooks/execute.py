"""Run a notebook top to bottom (nbclient), with papermill-style parameters.

A source notebook may have one cell tagged `parameters` (for example
`TRAIN, TEST = "train", "test"`); `execute` inserts a cell right after it that
overrides those values, so the tests run every notebook on the small sample
datasets and the benchmark on the full ones, without editing the notebook.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from icslab.checks import STRICT_ENV
from icslab.notebooks.variants import tags

PARAMETERS = "parameters"
QUICK = {  # what tests use: the sample datasets, and 08 watches its live plant for 45 s
    "TRAIN": "sample-train",
    "TEST": "sample",
    "CAPSTONE": "sample",
    "WATCH_MINUTES": 0.75,
}


def with_parameters(notebook: NotebookNode, parameters: Mapping[str, Any]) -> NotebookNode:
    """A copy with a cell setting `parameters` right after the `parameters` cell."""
    notebook = copy.deepcopy(notebook)
    if not parameters:
        return notebook
    positions = [i for i, cell in enumerate(notebook.cells) if PARAMETERS in tags(cell)]
    if not positions:
        raise ValueError("the notebook has no cell tagged 'parameters' to override")
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(positions[0] + 1, cell)
    return notebook


def execute(
    notebook: NotebookNode,
    *,
    cwd: Path,
    parameters: Mapping[str, Any] | None = None,
    strict_checks: bool = False,
    timeout: int = 600,
    env: Mapping[str, str] | None = None,
) -> NotebookNode:
    """The executed notebook; raises nbclient's CellExecutionError on the first error."""
    notebook = with_parameters(notebook, parameters or {})
    kernel_env = {**os.environ, **(env or {}), STRICT_ENV: "1" if strict_checks else "0"}
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=kernel_env)
    return notebook


def printed(notebook: NotebookNode) -> str:
    """Everything the notebook's cells printed (stdout streams), in order."""
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )
