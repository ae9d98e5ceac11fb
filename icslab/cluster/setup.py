"""`icslab cluster init` and `status`: the swarm, the registry and the image, together."""

from __future__ import annotations

import json
from dataclasses import dataclass

from icslab.cluster import guard, registry, swarm
from icslab.errors import InputError
from icslab.hub.docker_env import client
from icslab.hub.front import certs
from icslab.hub.launch import lab_ports
from icslab.hub.swarm_spawner import PREPARED_LABEL
from icslab.lab import Lab, LabPaths

# What a container's /proc/self/status says when the engine set no-new-privileges (Docker
# 20.10's `docker info` does not say it).
NO_NEW_PRIVILEGES = "NoNewPrivs:\t1"
# Docker 20.10 gives a service's container as much swap as memory, and a service spec
# cannot say otherwise: only a machine without swap keeps a server within its memory.
SWAP_ON = "swap is on (a server could use as much swap again as its memory limit)"


@dataclass(frozen=True)
class Made:
    cluster: swarm.Cluster
    new_swarm: bool
    reference: str
    join_script: str


@dataclass(frozen=True)
class Status:
    cluster: swarm.Cluster
    registry_answers: bool
    reference: str | None
    nodes: list[swarm.Node]


def engine_problems(labels: list[str], status: str, swaps: str) -> list[str]:
    """What this engine lacks to hold participants (the manager is a node like the
    others): its labels, the status of a container it ran, and the machine's swap
    (/proc/swaps: a header line, then one line per swap area in use)."""
    problems = []
    if NO_NEW_PRIVILEGES not in status.splitlines():
        problems.append("no-new-privileges is not on (a container it ran could gain privileges)")
    if PREPARED_LABEL not in labels:
        problems.append(f"it lacks the label {PREPARED_LABEL}")
    if len(swaps.strip().splitlines()) > 1:
        problems.append(SWAP_ON)
    return problems


def check_engine(engine, image: str) -> None:
    """Refuse this engine unless it is prepared, as the join steps prepare every node."""

    def read(path: str) -> str:
        run = engine.containers.run(image, entrypoint=["cat", path], remove=True,
                                    network_mode="none")  # fmt: skip
        return run.decode()

    labels = engine.info().get("Labels") or []
    problems = engine_problems(labels, read("/proc/self/status"), read("/proc/swaps"))
    if problems:
        raise InputError(
            f"this machine's Docker engine: {'; '.join(problems)}. Put "
            f"'{json.dumps(swarm.ENGINE_OPTIONS)}' in /etc/docker/daemon.json and restart "
            f"the engine (`systemctl restart docker`); `{swarm.SWAP_OFF}` turns swap off. "
            "Then run this again"
        )


def init_cluster(paths: LabPaths, settings, address: str) -> Made:
    engine = client()
    check_engine(engine, settings.docker.image)
    new_swarm = swarm.make_swarm(engine, address)
    title = settings.workshop.title
    where = registry.ensure_serving(paths, address, title)
    ca = certs.ensure_lab_ca(paths.lab_ca, title)
    registry.trust_on_this_engine(where, ca)
    reference = registry.push(engine, paths, settings.docker.image, where)
    cluster = swarm.Cluster(address=address, registry=where)
    cluster.save(paths)
    script = swarm.join_script(cluster, ca.read_text(), swarm.join_token(engine))
    return Made(cluster, new_swarm, reference, script)


def plan_up(paths: LabPaths, settings) -> dict:
    """Before `icslab up` in swarm mode: the engine prepared, the registry serving (it
    does not outlive a reboot), the image there as built now; the Lab's swarm fields."""
    cluster = swarm.Cluster.load(paths)
    if settings.docker.egress:
        raise InputError(
            "docker.egress = true is not available in swarm mode yet: the node firewalls "
            "let participants' containers reach only the lab"
        )
    engine = client()
    check_engine(engine, settings.docker.image)
    title = settings.workshop.title
    registry.ensure_serving(paths, cluster.address, title, int(cluster.registry.rsplit(":")[1]))
    reference = registry.pushed_reference(paths)
    if registry.pushed_id(paths) != engine.images.get(settings.docker.image).id:
        reference = registry.push(engine, paths, settings.docker.image, cluster.registry)
    addresses = [node.address for node in swarm.nodes(engine, paths) if node.address]
    return {"swarm_image": reference, "docker_gateway": cluster.address, "swarm_nodes": addresses}


def guard_nodes(lab: Lab) -> str:
    """Every prepared node's lab firewall, in place before any server starts there."""
    engine = client()
    prefix = lab.settings.docker.prefix
    assert lab.swarm_image and lab.docker_gateway  # a swarm lab
    name = guard.ensure_guard(engine, prefix, lab.swarm_image, lab.docker_gateway, lab_ports(lab))
    guard.wait_guarded(engine, prefix)
    return name


def cluster_status(paths: LabPaths) -> Status:
    cluster = swarm.Cluster.load(paths)
    ca = paths.lab_ca / certs.CA_CERT
    answers = registry.answers(f"https://{cluster.registry}/v2/", ca)
    nodes = swarm.nodes(client(), paths)
    return Status(cluster, answers, registry.pushed_reference(paths), nodes)
