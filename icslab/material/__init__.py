"""Workshop material for participants: published as git repositories that the lab
serves itself (icslab.hub.git_service), pulled with nbgitpuller links; `fresh` gives
a participant the published version of a file back, keeping theirs."""

from icslab.material.fresh_copy import fresh

__all__ = ["fresh"]
