"""A real second swarm node on this machine (icslab.testing.swarm_node): a worker joins
this engine's swarm, runs the tasks placed on it, answers across nodes on an overlay
network, and leaves nothing behind.

Everything made here carries a prefix unique to this run; the swarm is left only if
these tests made it.
"""

import os
import subprocess
from functools import partial
from ipaddress import ip_address, ip_network

import pytest

from icslab import images
from icslab.hub.docker_env import engine_answers
from icslab.testing import unique_prefix
from icslab.testing.swarm_node import (
    TEST_NODE_LABEL,
    NodeError,
    WorkerNode,
    bridge_gateway,
    docker,
    swarm_manager,
    swarm_state,
)
from icslab.waiting import wait_for

SUBNET = "{{(index .IPAM.Config 0).Subnet}}"
LAB_CA = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"

pytestmark = [
    pytest.mark.integration,
    # Skipped where no engine runs; CI starts one, and there they must run.
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]


@pytest.fixture(scope="module")
def swarm():
    with swarm_manager() as (manager, token):
        yield manager, token


@pytest.fixture(scope="module")
def small_image():
    """The participant base (Debian with python3): small, and built offline like the node."""
    images.ensure_base(images.DEBIAN_MIRROR, lambda line: None)  # as `make images` does
    return images.base_image_tag(images.read_package_list(images.PACKAGES_FILE.read_text()))


@pytest.fixture(scope="module")
def worker(swarm, small_image):
    manager, token = swarm
    with WorkerNode(unique_prefix()) as node:
        node.join(token, manager)
        node.load_image(small_image)
        yield node


@pytest.fixture
def services(worker):
    """Names of services and networks a test makes; removed after it."""
    made: dict[str, list[str]] = {"service": [], "network": []}
    yield made
    for name in made["service"]:
        docker("service", "rm", name)
    for name in made["network"]:
        # The manager's copy goes once the service's tasks are gone.
        wait_for(partial(try_remove_network, name), timeout=60, what=f"removal of {name}")


def try_remove_network(name: str) -> bool:
    try:
        docker("network", "rm", name)
    except NodeError as error:
        return "not found" in str(error)
    return True


def what_remains(prefix: str) -> list[str]:
    """Containers, volumes and swarm nodes named with this prefix."""
    containers = docker("ps", "--all", "--filter", f"name={prefix}", "--format", "{{.Names}}")
    volumes = docker("volume", "ls", "--quiet", "--filter", f"name={prefix}")
    nodes = docker("node", "ls", "--filter", f"name={prefix}", "--format", "{{.Hostname}}")
    return (containers + "\n" + volumes + "\n" + nodes).split()


def task_states(service: str) -> list[tuple[str, str]]:
    """(node id, current state) of each task of a service, newest first."""
    lines = docker("service", "ps", "--no-trunc", "--format", "{{.ID}}", service).split()
    tasks = [docker("inspect", "--format", "{{.NodeID}}|{{.Status.State}}", task) for task in lines]
    return [(node, state) for node, state in (task.split("|") for task in tasks)]


def test_a_swarm_worker_joins_ready_and_leaves_nothing_behind(swarm):
    manager, token = swarm
    prefix = unique_prefix()
    with WorkerNode(prefix) as node:
        node_id = node.join(token, manager)
        ready = docker("node", "ls", "--format", "{{.ID}} {{.Status}} {{.ManagerStatus}}")
        rows = [line.split() for line in ready.splitlines()]
        assert [node_id, "Ready"] in [row[:2] for row in rows]
        assert ["Ready", "Leader"] in [row[1:] for row in rows]  # the manager: this engine
        # The node's engine is its own: it has none of this machine's containers.
        assert node.exec("docker", "ps", "--all", "--quiet") == ""
        assert node.exec("hostname") == f"{prefix}-node"
        # Where docker looks for a registry's CA, as on an instructor's extra machine.
        registry = f"{manager.split(':')[0]}:5000"
        node.trust_registry(registry, LAB_CA)
        assert node.exec("cat", f"/etc/docker/certs.d/{registry}/ca.crt") == LAB_CA.strip()
        docker0 = docker("network", "inspect", "bridge", "--format", SUBNET)
        assert ip_address(node.address) in ip_network(docker0)
        assert what_remains(prefix) == [f"{prefix}-node", f"{prefix}-node-docker", f"{prefix}-node"]

    assert what_remains(prefix) == []
    assert docker("ps", "--all", "--quiet", "--filter", f"label={TEST_NODE_LABEL}={prefix}") == ""


def test_a_swarm_service_placed_on_the_worker_runs_there(worker, services, small_image):
    name = f"{worker.prefix}-where"
    services["service"].append(name)
    # The node container's /etc/hostname, mounted into the task: only the worker has it.
    docker("service", "create", "--detach", "--name", name, "--restart-condition", "none",
           "--constraint", f"node.id=={worker.node_id}",
           "--mount", "type=bind,src=/etc/hostname,dst=/node-hostname,readonly",
           small_image, "cat", "/node-hostname")  # fmt: skip

    finished = wait_for(lambda: [t for t in task_states(name) if t[1] == "complete"],
                        timeout=60, what=f"{name}'s task to complete")  # fmt: skip
    assert finished == [(worker.node_id, "complete")]
    ran_inside = worker.exec("docker", "ps", "--all", "--filter", f"name={name}",
                             "--format", "{{.Names}}")  # fmt: skip
    assert ran_inside.startswith(f"{name}.1.")
    output = wait_for(lambda: docker("service", "logs", "--raw", name), timeout=30,
                      what=f"{name}'s output from the worker")  # fmt: skip
    assert output == worker.name


def test_a_swarm_dnsrr_service_on_the_worker_answers_a_container_on_the_manager(
    worker, services, small_image
):
    network, name = f"{worker.prefix}-overlay", f"{worker.prefix}-web"
    docker("network", "create", "--driver", "overlay", "--attachable", network)
    services["network"].append(network)
    services["service"].append(name)
    # No IPVS in this kernel: no virtual IP, the service's name resolves to its tasks.
    # --init: the server as PID 1 would ignore SIGTERM and hold the clean-up 10 s.
    docker("service", "create", "--detach", "--name", name, "--network", network,
           "--endpoint-mode", "dnsrr", "--constraint", f"node.id=={worker.node_id}", "--init",
           "--mount", "type=bind,src=/etc/hostname,dst=/srv/hostname,readonly",
           small_image, "python3", "-m", "http.server", "8000", "--directory", "/srv")  # fmt: skip
    wait_for(lambda: (worker.node_id, "running") in task_states(name), timeout=60,
             what=f"{name} running on the worker")  # fmt: skip

    fetch = f"import urllib.request; print(urllib.request.urlopen('http://{name}:8000/hostname', timeout=5).read().decode().strip())"  # noqa: E501

    def from_the_manager() -> str | None:
        answer = subprocess.run(
            ["docker", "run", "--rm", "--name", f"{worker.prefix}-client", "--network", network,
             small_image, "python3", "-c", fetch],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return answer.stdout.strip() if answer.returncode == 0 else None

    assert wait_for(from_the_manager, timeout=90, what=f"{name} to answer") == worker.name


def test_a_swarm_is_made_only_on_an_engine_in_none_and_left_only_by_its_maker(
    tmp_path, monkeypatch
):
    # On an engine of its own (a node's), so this machine's swarm, if any, is never touched.
    with WorkerNode(unique_prefix(), engine_socket=tmp_path), monkeypatch.context() as env:
        env.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
        assert swarm_state()["LocalNodeState"] == "inactive"
        with swarm_manager() as (manager, token):
            assert manager == f"{bridge_gateway()}:2377"
            assert token.startswith("SWMTKN-")
            with swarm_manager() as (again, same_token):  # the swarm is there now: used
                assert (again, same_token) == (manager, token)
            assert swarm_state()["LocalNodeState"] == "active"  # and left to its maker
        assert swarm_state()["LocalNodeState"] == "inactive"


def test_a_swarm_node_whose_engine_cannot_start_says_why_and_leaves_nothing(small_image):
    prefix = unique_prefix()
    # Debian without docker.io: the error shows what the node's container said.
    said = f"(?s){prefix}-node did not start.*exec dockerd failed"
    with pytest.raises(NodeError, match=said), WorkerNode(prefix, image=small_image):
        pass
    assert what_remains(prefix) == []
