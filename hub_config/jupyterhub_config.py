# JupyterHub config for icslab. Do not edit: change lab.toml instead, and
# put site-specific additions in jupyterhub_config.d/*.py (loaded last).
from pathlib import Path

from icslab.hub import configure
from icslab.lab import lab_from_hub_environment

configure(c, lab_from_hub_environment())

for extra in sorted((Path(__file__).parent / "jupyterhub_config.d").glob("*.py")):
    load_subconfig(str(extra))
