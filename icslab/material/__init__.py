"""Workshop material for participants: published as git repositories that the lab
serves itself (icslab.hub.git_service), pulled with nbgitpuller links."""
