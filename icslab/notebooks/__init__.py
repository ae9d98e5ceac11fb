"""Workshop notebooks: one source per notebook, two generated versions.

A workshop is a folder `workshops/<name>/` with a `workshop.toml` manifest and
its source notebooks. In a source notebook, cells tagged `exercise` hold what a
participant starts from (placeholders such as `threshold = ...`), and each is
followed by its cell(s) tagged `solution`. `icslab notebooks build` writes the
participant version (no solution cells) and the instructor version (no exercise
cells) of every notebook, so the two never drift apart.
"""

from icslab.notebooks.manifest import WORKSHOPS, Module, Workshop, load_workshop
from icslab.notebooks.variants import INSTRUCTOR, PARTICIPANT, VERSIONS, make_version

__all__ = [
    "INSTRUCTOR",
    "PARTICIPANT",
    "VERSIONS",
    "WORKSHOPS",
    "Module",
    "Workshop",
    "load_workshop",
    "make_version",
]
