"""Where things are in a checkout of icslab, said once; every module imports them.

The lab's running state has its own place, `icslab.lab.LabPaths` (under the data
dir); these are the repository's own folders.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"

DATASETS = REPO / "datasets"
CATALOG = DATASETS / "catalog.toml"
DATASETS_BUILD = DATASETS / "build"  # `icslab datasets build` writes the plant datasets here
DATASETS_CACHE = DATASETS / "cache"  # `icslab datasets fetch` downloads public datasets here
BATADAL_CACHE = DATASETS_CACHE / "batadal"

WORKSHOPS = REPO / "workshops"
IMAGES = REPO / "images"
HUB_CONFIG = REPO / "hub_config"
JUPYTERHUB_CONFIG = HUB_CONFIG / "jupyterhub_config.py"

# The lab's settings, relative to where `icslab` runs (the default of --config); its
# name was hub_config/workshop.toml until this release (icslab.settings reads that too).
SETTINGS_FILE = Path("hub_config/lab.toml")

# Local mode's JupyterLab language packs, one folder each, in the venv that runs the
# participants' servers (icslab.languages says why not in its site-packages).
LANGUAGE_PACKS = Path(sys.prefix) / "share" / "icslab" / "language-packs"

# The figures the capacity planner (icslab.cluster.capacity) reads: measured by the
# benches (`icslab bench`: bench/memory.py, bench/plant.py with --record), committed.
CAPACITY_FIGURES = REPO / "bench" / "figures" / "capacity.json"
