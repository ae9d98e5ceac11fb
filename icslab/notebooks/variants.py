"""The participant and instructor versions of a source notebook.

Source rules, checked before anything is written:
- a cell tagged `exercise` is a code cell, immediately followed by the code
  cell(s) tagged `solution` that answer it;
- a code cell tagged `solution` follows an exercise (or another solution), so a
  participant always has a placeholder where the instructor has an answer;
- a markdown cell tagged `solution` (an explained answer) may stand anywhere.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from icslab.errors import InputError

PARTICIPANT, INSTRUCTOR = "participant", "instructor"
VERSIONS = (PARTICIPANT, INSTRUCTOR)
EXERCISE, SOLUTION = "exercise", "solution"
DROPPED = {PARTICIPANT: SOLUTION, INSTRUCTOR: EXERCISE}


def tags(cell: NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def read_source(path: Path) -> NotebookNode:
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:  # nbformat's read errors are ValueErrors
        raise InputError(f"{path}: cannot read the notebook: {error}") from None
    problems = source_problems(notebook)
    if problems:
        raise InputError(*(f"{path}: {problem}" for problem in problems))
    return notebook


def source_problems(notebook: NotebookNode) -> list[str]:
    problems = []
    previous: set[str] = set()
    cells = notebook.cells
    for number, cell in enumerate(cells, start=1):
        cell_tags = tags(cell)
        where = f"cell {number}"
        if {EXERCISE, SOLUTION} <= cell_tags:
            problems.append(f"{where} is tagged both exercise and solution")
        elif EXERCISE in cell_tags:
            following = cells[number] if number < len(cells) else None
            if cell.cell_type != "code":
                problems.append(f"{where}: an exercise must be a code cell")
            if (
                following is None
                or SOLUTION not in tags(following)
                or following.cell_type != "code"
            ):
                problems.append(f"{where}: an exercise must be followed by its solution code cell")
        elif (
            SOLUTION in cell_tags
            and cell.cell_type == "code"
            and not previous & {EXERCISE, SOLUTION}
        ):
            problems.append(f"{where}: a solution code cell must follow its exercise cell")
        previous = cell_tags if cell.cell_type == "code" or cell_tags else previous
    return problems


def contains_solutions(notebook: NotebookNode) -> bool:
    return any(SOLUTION in tags(cell) for cell in notebook.cells)


def make_version(source: NotebookNode, version: str) -> NotebookNode:
    """The `version` of a checked source notebook, with outputs cleared."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, not {version!r}")
    notebook = copy.deepcopy(source)
    notebook.cells = [cell for cell in notebook.cells if DROPPED[version] not in tags(cell)]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    notebook.metadata.pop("widgets", None)
    notebook.metadata["icslab"] = {"version": version}
    return notebook
