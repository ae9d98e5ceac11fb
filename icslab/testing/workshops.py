"""A small workshop source for tests: `water-week`, one module (01-levels.ipynb) with a
heading, an exercise and its solution, as an instructor writes them."""

from __future__ import annotations

from pathlib import Path

import nbformat

NAME = "water-week"
MODULE = "01-levels.ipynb"


def manifest(extra: str = "") -> str:
    """Its workshop.toml; `extra` goes before the modules (e.g. an exclude list)."""
    return (
        'title = "Water week"\n'
        f"{extra}"
        f'[[modules]]\nfile = "{MODULE}"\ntitle = "Levels"\nminutes = 20\ngoal = "Levels"\n'
    )


def write_module(path: Path, solution: str = "level = 4.2", extra=()) -> None:
    """A source notebook: "# Levels", the exercise `level = ...`, its solution, and any
    `extra` markdown cells."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Levels"),
        nbformat.v4.new_code_cell("level = ...", metadata={"tags": ["exercise"]}),
        nbformat.v4.new_code_cell(solution, metadata={"tags": ["solution"]}),
        *(nbformat.v4.new_markdown_cell(text) for text in extra),
    ]
    nbformat.write(notebook, path)


def write_workshop(root: Path) -> Path:
    """root/water-week/ with its manifest and module; the folder."""
    folder = root / NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workshop.toml").write_text(manifest())
    write_module(folder / MODULE)
    return folder
