"""Swarm mode on a real engine with a real worker node (a second dockerd on this
machine): `icslab cluster init` makes the swarm and the lab registry, the worker pulls
the participant image from that registry only, and a participant's server placed on
the worker by the lab's spawner runs there with the limits and hardening of docker
mode, keeps their files across a restart, and answers the hub on the node's address.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import httpx
import pytest

from icslab.cluster import registry
from icslab.hub.docker_env import engine_answers
from icslab.hub.front import certs
from icslab.hub.swarm_spawner import (
    GWBRIDGE,
    NODE_LABEL,
    SwarmSpawner,
    read_placement,
    record_placement,
)
from icslab.lab import LabPaths
from icslab.testing import unique_prefix
from icslab.testing.swarm_node import WorkerNode, bridge_gateway, docker, swarm_state
from icslab.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]
PREPARED = ["--no-new-privileges", "--label", f"{NODE_LABEL}=prepared"]


def icslab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "icslab.cli", *args],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`icslab cluster init` on this engine; afterwards the registry stops and, if this
    made the swarm, the engine leaves it."""
    had_swarm = swarm_state().get("LocalNodeState") == "active"
    had_gwbridge = bool(docker("network", "ls", "-q", "--filter", f"name=^{GWBRIDGE}$").strip())
    paths = LabPaths(tmp_path_factory.mktemp("cluster") / "lab")
    address = swarm_state().get("NodeAddr") if had_swarm else bridge_gateway()
    made = icslab("cluster", "init", "--address", address, "--data-dir", str(paths.data_dir))
    try:
        assert made.returncode == 0, made.stdout + made.stderr
        yield SimpleNamespace(paths=paths, address=address, said=made.stdout)
    finally:
        registry.stop(paths)
        if not had_swarm:
            docker("swarm", "leave", "--force")
            if not had_gwbridge:
                docker("network", "rm", GWBRIDGE)


@pytest.fixture(scope="module")
def worker(cluster):
    """A worker that did what the join steps say: trust the registry, prepare, join."""
    said = cluster.said
    token = said.split("docker swarm join --token ", 1)[1].split()[0]
    ca_pem = (cluster.paths.lab_ca / certs.CA_CERT).read_text()
    with WorkerNode(unique_prefix(), dockerd_options=PREPARED) as node:
        node.trust_registry(f"{cluster.address}:{registry.REGISTRY_PORT}", ca_pem)
        node.join(token, cluster.address)
        yield node


def spawner_on(cluster, node_id: str, name: str) -> SwarmSpawner:
    """The lab's spawner as the hub configures it, serving a plain web server instead of
    Jupyter (no hub here), pinned to `node_id`."""
    prefix = unique_prefix()
    spawner = SwarmSpawner(
        user=SimpleNamespace(name=name, escaped_name=name, id=1, url=f"/user/{name}/"),
        cluster_dir=str(cluster.paths.cluster),
        prefix=prefix,
        image=registry.pushed_reference(cluster.paths),
        mem_limit="1G",
        cpu_limit=1.0,
        pids_limit=200,
        team_members="{}",
    )
    spawner.volumes = {f"{prefix}-{name}": "/home/jovyan/work"}
    spawner.get_env = lambda: {}  # type: ignore[method-assign]

    async def serve_files():
        return ["python3", "-m", "http.server", "8888", "--directory", "/home/jovyan/work"]

    spawner.get_command = serve_files  # type: ignore[method-assign]
    record_placement(cluster.paths.cluster, name, node_id)
    return spawner


async def start(spawner: SwarmSpawner) -> tuple[str, int]:
    await spawner.create_object()
    await spawner.start_object()
    ip, port = await spawner.get_ip_and_port()
    spawner.node = (await spawner.get_task())["NodeID"]
    return ip, port


def answer(ip: str, port: int, path: str = "/") -> httpx.Response:
    def got():
        try:
            return httpx.get(f"http://{ip}:{port}{path}", timeout=2)
        except httpx.HTTPError:
            return None

    return wait_for(got, timeout=60, what=f"the server on {ip}:{port}")


def container_on(node: WorkerNode, service: str) -> str:
    found = node.exec(
        "docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}"
    )
    return found.strip()


def test_cluster_status_shows_both_nodes_prepared_and_the_registry_answering(cluster, worker):
    shown = icslab("cluster", "status", "--data-dir", str(cluster.paths.data_dir))
    assert shown.returncode == 0, shown.stderr
    assert "answers" in shown.stdout and "DOES NOT ANSWER" not in shown.stdout
    worker_row = next(line for line in shown.stdout.splitlines() if worker.name in line)
    assert "worker" in worker_row and "yes" in worker_row


def test_swarm_participant_on_the_worker_runs_pinned_hardened_and_keeps_files(cluster, worker):
    spawner = spawner_on(cluster, worker.node_id, "p07")
    try:
        ip, port = asyncio.run(start(spawner))
        assert ip == worker.address  # the hub reaches it on the worker's own address
        container = container_on(worker, spawner.service_name)
        assert container, "the service's task runs on the worker"
        # The worker got the image from the lab registry: it has no other source.
        pulled = worker.exec("docker", "images", "--format", "{{.Repository}}")
        assert f"{cluster.address}:{registry.REGISTRY_PORT}/{registry.REPOSITORY}" in pulled
        # Limits and hardening, read from inside the container.
        status = worker.exec("docker", "exec", container, "cat", "/proc/self/status")
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        assert fields["NoNewPrivs"].strip() == "1"
        assert int(fields["CapEff"].strip(), 16) == 0
        assert fields["Uid"].split()[0] == "1000"
        inspect = json.loads(worker.exec("docker", "inspect", container))[0]["HostConfig"]
        assert inspect["Memory"] == 2**30 and inspect["NanoCpus"] == 10**9
        assert inspect["PidsLimit"] == 200
        assert not any("docker.sock" in m for m in inspect.get("Binds") or [])
        worker.exec("docker", "exec", container, "sh", "-c",
                    "echo detection-v1 > /home/jovyan/work/notes.txt")  # fmt: skip
        assert answer(ip, port, "/notes.txt").text == "detection-v1\n"
        # Stopped and started again: the same node, the same files.
        asyncio.run(spawner.remove_object())
        spawner.clear_state()
        assert spawner.get_state()["node"] == worker.node_id
        spawner.object_id = ""
        ip, port = asyncio.run(start(spawner))
        assert spawner.node == worker.node_id and ip == worker.address
        assert answer(ip, port, "/notes.txt").text == "detection-v1\n"
        assert read_placement(cluster.paths.cluster)["p07"] == worker.node_id
    finally:
        subprocess.run(["docker", "service", "rm", spawner.service_name], capture_output=True)
        subprocess.run(
            ["docker", "network", "rm", f"{spawner.prefix}-net-p07"], capture_output=True
        )
