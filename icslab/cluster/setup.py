"""`icslab cluster init` and `status`: the swarm, the registry and the image, together."""

from __future__ import annotations

from dataclasses import dataclass

from icslab.cluster import guard, registry, swarm
from icslab.errors import InputError
from icslab.hub.docker_env import client
from icslab.hub.front import certs
from icslab.hub.launch import lab_ports
from icslab.hub.swarm_spawner import NODE_LABEL
from icslab.lab import Lab, LabPaths

NO_NEW_PRIVILEGES = "name=no-new-privileges"


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


def engine_problems(info: dict) -> list[str]:
    """What this engine lacks to hold participants (the manager is a node like the others)."""
    problems = []
    if NO_NEW_PRIVILEGES not in info.get("SecurityOptions", []):
        problems.append("no-new-privileges is not on")
    if f"{NODE_LABEL}=prepared" not in (info.get("Labels") or []):
        problems.append(f"it lacks the label {NODE_LABEL}=prepared")
    return problems


def init_cluster(paths: LabPaths, settings, address: str) -> Made:
    engine = client()
    problems = engine_problems(engine.info())
    if problems:
        raise InputError(
            f"this machine's Docker engine: {'; '.join(problems)}. Put "
            f"'{swarm.ENGINE_OPTIONS}' (as JSON) in /etc/docker/daemon.json and restart the "
            "engine (`systemctl restart docker`), then run `icslab cluster init` again"
        )
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
    problems = engine_problems(engine.info())
    if problems:
        raise InputError(f"this machine's Docker engine: {'; '.join(problems)}")
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
