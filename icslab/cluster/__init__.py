"""Past one server: the lab on a Docker Swarm of several machines, and how many it needs."""
