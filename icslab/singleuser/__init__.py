"""What runs inside participants' own Jupyter servers, in either mode: the lab's
Jupyter configuration, and the server extensions it turns on (a pool of started
kernels, pulling published workshops when a server starts, and the landing page
that opens the workshop's first notebook); in docker mode
also their kernels' IPython configuration and its extension (`trim`).

Nothing here imports the hub's code: it runs in the participant's container, as
the participant.
"""

from pathlib import Path

# On JUPYTER_CONFIG_PATH of every participant's server (local mode: set by the hub;
# Docker mode: the image links it), so that it wins over what packages enable.
JUPYTER_CONFIG = Path(__file__).parent / "jupyter_config"

# The configuration of participants' IPython kernels (the `trim` extension): IPython
# reads it from the venv's etc/ipython, which the image links here.
IPYTHON_CONFIG = Path(__file__).parent / "ipython"
