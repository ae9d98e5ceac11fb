"""The layout the README's Development section shows is the code's: every part of
`icslab/` is listed there, and imports only run down the list (parts on one line may
import each other). A new module, or an import that runs back up, fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from icslab.paths import REPO

PACKAGE = REPO / "icslab"


def listed_parts() -> list[set[str]]:
    """The README's tree, top first: the parts named on each line (`cli/` -> `cli`)."""
    readme = (REPO / "README.md").read_text()
    tree = re.search(r"```\nicslab/\n(.*?)```", readme, re.S)
    assert tree, "README.md: the Development section opens with a tree of icslab/"
    levels = []
    for line in tree.group(1).splitlines():
        if not line.startswith("  ") or line.startswith("   "):
            continue  # a description carried over to the next line
        names = re.findall(r"(?:^|\s)([a-z_]+)(?:/|\.py)(?=\s|$)", line)
        if names:
            levels.append(set(names))
    return levels


def part_of(module: str) -> str | None:
    """`icslab.hub.front.caddy` -> `hub`; the package root and others -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "icslab" and len(parts) > 1 else None


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "icslab":  # `from icslab import metrics`
                found |= {f"icslab.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_readme_lists_every_part_of_the_package():
    on_disk = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and any(path.glob("*.py")))
    }
    listed = set().union(*listed_parts())
    assert on_disk - listed == set(), "add these to the README's tree of icslab/"
    assert listed - on_disk == set(), "the README's tree names parts that are gone"


def test_imports_only_run_down_the_readmes_list():
    rank = {name: level for level, names in enumerate(listed_parts()) for name in names}
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = part_of(".".join(path.relative_to(REPO).with_suffix("").parts))
        if source in (None, "__init__"):
            continue  # the package root: `icslab.check`, the notebooks' shortcut
        for module in imports_of(path):
            target = part_of(module)
            if target in rank and target != source and rank[target] < rank[source]:
                upward.append(f"{path.relative_to(REPO)} imports {module}")
    assert upward == []


def test_what_runs_in_participants_servers_imports_nothing_else_of_icslab():
    for path in (PACKAGE / "singleuser").rglob("*.py"):
        outside = {m for m in imports_of(path) if m.startswith("icslab") and "singleuser" not in m}
        assert outside == set(), path


@pytest.mark.parametrize("part", ["sim", "data"])
def test_sim_and_data_meet_only_in_formats(part):
    other = {"sim": "data", "data": "sim"}[part]
    for path in (PACKAGE / part).rglob("*.py"):
        assert not {m for m in imports_of(path) if part_of(m) == other}, path
