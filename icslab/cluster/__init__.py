"""The lab over several machines (Docker Swarm), and how many machines a week needs."""
