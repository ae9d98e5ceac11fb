"""The exercises of the lab's workshops, in the order participants meet them: each
module's `icslab.check("name", ...)` calls, read from the workshop's sources."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from icslab.errors import InputError
from icslab.notebooks.manifest import available, load_workshop
from icslab.paths import WORKSHOPS

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([a-z_][a-z0-9_]*\.[a-z0-9_]+)["']""")
# What a verdict may name: a check's name (module.exercise), nothing a page could run.
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}\.[a-z0-9_]{1,60}$")


@dataclass(frozen=True)
class Module:
    title: str
    exercises: tuple[str, ...]


def workshop_modules(names: list[str], root: Path = WORKSHOPS) -> list[Module]:
    """The modules of the named workshops (every workshop found, if none is named).
    A named workshop that is not in `root` is skipped with a warning: the room still
    serves the others."""
    modules = []
    for name in names or available(root):
        try:
            workshop = load_workshop(name, root)
        except InputError as error:
            logging.warning("no exercises from %s: %s", name, " ".join(error.problems))
            continue
        for module in workshop.modules:
            found = _checks_in(workshop.source(module))
            if found:
                modules.append(Module(module.title, found))
    return modules


def _checks_in(notebook: Path) -> tuple[str, ...]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    names: list[str] = []
    for cell in cells:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            for name in CHECK_CALL.findall(source):
                if name not in names:
                    names.append(name)
    return tuple(names)
