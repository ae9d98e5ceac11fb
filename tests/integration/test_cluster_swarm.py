"""Swarm mode on a real engine with a real worker node (a second dockerd on this
machine, joined as an instructor's extra machine would be): `icslab cluster init`
makes the swarm and the lab registry, `icslab up` with `[cluster] mode = "swarm"`
guards every node and places participants' servers on both nodes. A participant on
the worker runs a cell, keeps their files across a restart on the same node, has the
limits and hardening of docker mode, and got the image from the lab registry only;
participants on different nodes cannot reach each other, nor anything outside; each
team reaches its own live plant, from either node, and no other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from icslab.cluster import registry
from icslab.hub import plant_reach
from icslab.hub.docker_env import engine_answers, remove_lab_resources
from icslab.hub.front import certs
from icslab.hub.swarm_spawner import (
    GWBRIDGE,
    NODE_LABEL,
    own_network,
    read_placement,
    record_placement,
)
from icslab.hub.teams import plants_container
from icslab.lab import LabPaths
from icslab.plant import lifecycle
from icslab.plant.truth import read_truth
from icslab.settings import Limits, size_bytes
from icslab.testing import PARTICIPANT_IMAGE, RunningLab, unique_prefix
from icslab.testing.swarm_node import WorkerNode, bridge_gateway, docker, swarm_state

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]
PREPARED = ["--no-new-privileges", "--label", f"{NODE_LABEL}=prepared"]
ON_MANAGER, ON_WORKER = "p01", "p04"  # of two teams: water and power
TEAMMATE = "p05"  # p04's
STALE = "icslabtold-lab-node"  # another lab's node table
ROSTER = [
    ("trainer1", "", "instructor"),
    ("p01", "water", "participant"),
    ("p04", "power", "participant"),
    ("p05", "power", "participant"),
]


def icslab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "icslab.cli", *args],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def prefix():
    return unique_prefix()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, prefix):
    """`icslab cluster init` for a lab's data dir; afterwards the registry stops and, if
    this made the swarm, the engine leaves it."""
    had_swarm = swarm_state().get("LocalNodeState") == "active"
    had_gwbridge = bool(docker("network", "ls", "-q", "--filter", f"name=^{GWBRIDGE}$").strip())
    folder = tmp_path_factory.mktemp("swarm-lab")
    paths = LabPaths(folder / "data")
    address = swarm_state().get("NodeAddr") if had_swarm else bridge_gateway()
    made = icslab("cluster", "init", "--address", address, "--data-dir", str(paths.data_dir))
    try:
        assert made.returncode == 0, made.stdout + made.stderr
        yield SimpleNamespace(folder=folder, paths=paths, address=address, said=made.stdout)
    finally:
        registry.stop(paths)
        if not had_swarm:
            docker("swarm", "leave", "--force")
            if not had_gwbridge:
                docker("network", "rm", GWBRIDGE)


@pytest.fixture(scope="module")
def worker(cluster):
    """An extra machine that did what the join steps say: trust the registry, set the
    engine options, join."""
    token = cluster.said.split("docker swarm join --token ", 1)[1].split()[0]
    ca_pem = (cluster.paths.lab_ca / certs.CA_CERT).read_text()
    with WorkerNode(unique_prefix(), dockerd_options=PREPARED) as node:
        node.trust_registry(f"{cluster.address}:{registry.REGISTRY_PORT}", ca_pem)
        node.join(token, cluster.address)
        yield node


@pytest.fixture(scope="module")
def lab(cluster, worker, prefix):
    manager = docker("info", "--format", "{{.Swarm.NodeID}}").strip()
    # An earlier lab's node table, left behind: it would drop this lab's traffic.
    stale = f"table inet {STALE} {{\n chain input {{\n type filter hook input priority filter;\n"
    stale += ' iifname "docker_gwbridge" drop\n }\n}\n'
    subprocess.run(["nft", "-f", "-"], input=stale, text=True, check=True)
    # Where each one's work lives, as `icslab cluster move` would record it.
    record_placement(cluster.paths.cluster, ON_MANAGER, manager)
    record_placement(cluster.paths.cluster, ON_WORKER, worker.node_id)
    running = RunningLab(
        cluster.folder,
        roster=ROSTER,
        hub={"spawner": "docker"},
        docker={"prefix": prefix, "image": PARTICIPANT_IMAGE},
        cluster={"mode": "swarm"},
    )
    try:
        running.start(timeout=900)  # the first start pulls the image on the worker
        yield running
    finally:
        running.stop()
        remove_lab_resources(prefix, volumes=True)
        subprocess.run(
            ["nft", "delete", "table", "inet", STALE], capture_output=True
        )  # services, networks, tables, volumes


def node_of(user: str, prefix: str) -> str:
    return docker("service", "ps", f"{prefix}-{user}", "--filter", "desired-state=running",
                  "--format", "{{.Node}}").strip()  # fmt: skip


def test_swarm_lab_up_guards_every_node_and_drops_an_earlier_labs_table(lab, worker, prefix):
    guarded = f"table inet {prefix}-lab-node"
    # The worker has no nft of its own: ask with the image the guard runs.
    host = ("--network", "host", "--user", "0", "--cap-add", "NET_ADMIN", "--entrypoint", "nft")
    image = lab.resolved().swarm_image
    on_worker = worker.exec("docker", "run", "--rm", *host, image, "list", "tables")
    assert guarded in on_worker
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert guarded in tables and STALE not in tables


def test_cluster_status_shows_both_nodes_prepared_and_the_registry_answering(cluster, worker):
    shown = icslab("cluster", "status", "--data-dir", str(cluster.paths.data_dir))
    assert shown.returncode == 0, shown.stderr
    assert "answers" in shown.stdout and "DOES NOT ANSWER" not in shown.stdout
    worker_row = next(line for line in shown.stdout.splitlines() if worker.name in line)
    assert "worker" in worker_row and "yes" in worker_row


def test_swarm_participant_on_the_worker_runs_a_cell_and_keeps_files_on_that_node(
    lab, worker, prefix, cluster
):
    p04 = lab.login(ON_WORKER)
    p04.start_server(timeout=240)
    assert node_of(ON_WORKER, prefix) == worker.name
    assert p04.run_code("6*7") == "42"
    p04.run_code("open('/home/jovyan/work/notes.txt', 'w').write('tank 2 mass balance')")
    # The worker got the image from the lab registry: it has no other source.
    pulled = worker.exec("docker", "images", "--format", "{{.Repository}}")
    assert f"{cluster.address}:{registry.REGISTRY_PORT}/{registry.REPOSITORY}" in pulled

    p04.stop_server()
    p04.start_server(timeout=240)
    assert node_of(ON_WORKER, prefix) == worker.name
    assert read_placement(cluster.paths.cluster)[ON_WORKER] == worker.node_id
    assert p04.run_code("print(open('/home/jovyan/work/notes.txt').read())") == (
        "tank 2 mass balance\n"
    )


def test_swarm_participant_on_the_worker_uses_the_labs_services_on_the_manager(lab, worker, prefix):
    p04 = lab.login(ON_WORKER)
    p04.start_server(timeout=240)
    assert node_of(ON_WORKER, prefix) == worker.name
    # The room service: a self-check's verdict reaches the instructors' room view.
    assert p04.self_checks("2").strip().endswith("sent True")
    trainer = lab.login("trainer1")
    state = trainer.http.get("services/icslab-room/state").json()
    seen = next(m for team in state["teams"] for m in team["members"] if m["user"] == ON_WORKER)
    assert seen["cells"]["welcome.sensor_count"]["verdict"] == "correct"
    # The git, live and hand-in services answer from the worker too.
    running = lab.resolved()
    ports = (running.git_port, running.live_port, running.submit_port)
    assert p04.reach([(running.docker_gateway, port) for port in ports]) == ["open"] * 3


def test_swarm_limits_and_hardening_hold_on_the_worker(lab, worker, prefix):
    p04 = lab.login(ON_WORKER)
    p04.start_server(timeout=240)
    assert node_of(ON_WORKER, prefix) == worker.name
    seen = p04.run_code(
        "import os\n"
        "status = dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines()"
        " if ':\\t' in l)\n"
        "pids = next(p for p in ('/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/pids.max')"
        " if os.path.exists(p))\n"
        "memory = next(p for p in ('/sys/fs/cgroup/memory/memory.limit_in_bytes',"
        " '/sys/fs/cgroup/memory.max') if os.path.exists(p))\n"
        "mounts = [line.split()[1] for line in open('/proc/mounts')]\n"
        "print(os.getuid(), status['CapEff'].strip(), status['NoNewPrivs'].strip(),"
        " open(pids).read().strip(), open(memory).read().strip(),"
        " os.path.exists('/var/run/docker.sock'),"
        " [m for m in mounts if m.startswith(('/home', '/opt', '/var/run', '/srv'))])"
    )
    uid, caps, no_new_privileges, pids, memory, socket, mounts = seen.split(maxsplit=6)
    assert (uid, caps, no_new_privileges) == ("1000", "0000000000000000", "1")
    limits = Limits()  # the lab's defaults, as in its settings
    assert (pids, memory, socket) == ("512", str(size_bytes(limits.memory)), "False")
    # Only their work and their team's folder come from outside: no hub state.
    assert mounts.strip() == "['/home/jovyan/work', '/home/jovyan/work/team']"


def test_swarm_participants_on_two_nodes_cannot_reach_each_other_nor_outside(
    lab, worker, prefix, cluster
):
    p01, p04 = lab.login(ON_MANAGER), lab.login(ON_WORKER)
    p01.start_server(timeout=240)
    p04.start_server(timeout=240)
    assert node_of(ON_MANAGER, prefix) != worker.name and node_of(ON_WORKER, prefix) == worker.name
    running = lab.resolved()
    hub_api = (cluster.address, running.hub_api_port)
    p01_at = published(prefix, ON_MANAGER, cluster.address)
    p04_at = published(prefix, ON_WORKER, worker.address)
    manager_other = (cluster.address, 2377)  # the manager's own services (here: the swarm's)
    worker_other = (worker.address, 2377)
    outside = subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", f"{prefix}-outside", "--entrypoint", "python3",
         PARTICIPANT_IMAGE, "-m", "http.server", "8080"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        beyond = (
            docker("inspect", outside, "--format", "{{.NetworkSettings.IPAddress}}").strip(),
            8080,
        )
        # From the manager: the hub, yes; the worker's participant, any node's other
        # services, a machine beyond the lab: no.
        assert p01.reach([hub_api, p04_at, manager_other, worker_other, beyond]) == [
            "open", "closed", "closed", "closed", "closed"
        ]  # fmt: skip
        # From the worker: the hub, yes; the manager's participant, its own server
        # through its node, its node's other services, beyond the lab: no.
        assert p04.reach([hub_api, p01_at, (worker.address, p04_at[1]), worker_other, beyond]) == [
            "open",
            "closed",
            "closed",
            "closed",
            "closed",
        ]
    finally:
        subprocess.run(["docker", "rm", "-f", outside], capture_output=True)


def test_swarm_teams_reach_their_own_live_plant_from_any_node_and_nothing_else(lab, worker, prefix):
    p01, p04, p05 = (lab.login(user) for user in (ON_MANAGER, ON_WORKER, TEAMMATE))
    p01.start_server(timeout=240)
    p04.start_server(timeout=240)
    running = lab.resolved()
    lifecycle.up(running, speed=20)  # p01 and p04 join now
    try:
        p05.start_server(timeout=240)  # joins as its server starts, beside its teammate
        assert node_of(ON_WORKER, prefix) == node_of(TEAMMATE, prefix) == worker.name
        water, power = (lifecycle.load_config(lifecycle.folder_of(running, team))
                        for team in ("water", "power"))  # fmt: skip
        # The plants' container is on its own overlay and on each teamed participant's
        # network: nobody else's.
        plants = json.loads(docker("inspect", plants_container(prefix)))[0]
        joined = plants["NetworkSettings"]["Networks"]
        users = (ON_MANAGER, ON_WORKER, TEAMMATE)
        assert sorted(joined) == sorted(
            [plant_reach.plants_network(prefix)] + [own_network(prefix, u) for u in users]
        )
        assert plants["HostConfig"]["CapDrop"] == ["ALL"] and plants["Config"]["User"] == "1000:100"

        # Each team's kernel, on either node, finds and reads its own plant by one name.
        code = (
            "import icslab.plant\n"
            "plant = icslab.plant.connect()\n"
            "print(plant.url, len(plant.history('1min')) > 0, plant.read()['LIT101'] > 0)\n"
        )
        for member, config in ((p01, water), (p04, power), (p05, power)):
            url = f"http://{plant_reach.ALIAS}:{config.data[1]}/"
            assert member.run_code(code).split() == [url, "True", "True"]

        # Another team's plant at that name: its data API and a PLC.
        for member, other in ((p01, power), (p04, water)):
            ports = (other.data[1], other.plcs["PLC1"][1])
            assert member.reach([(plant_reach.ALIAS, port) for port in ports]) == ["closed"] * 2
        # A teammate's server, and the plants at the teammate's network, from p04.
        p05_at = task_address(prefix, TEAMMATE)
        plants_at_p05 = joined[own_network(prefix, TEAMMATE)]["IPAddress"]
        assert p04.reach([(p05_at, 8888), (plants_at_p05, power.data[1])]) == ["closed"] * 2

        # With --red-team a write from the worker acts, and the truth names who sent it.
        lifecycle.down(running)
        lifecycle.up(running, speed=20, red_team=True)  # everyone running joins again
        power = lifecycle.load_config(lifecycle.folder_of(running, "power"))
        assert p04.write_register(plant_reach.ALIAS, power.plcs["PLC1"][1], 6, 0) is None
        (write,) = read_truth(lifecycle.folder_of(running, "power"))
        assert write.by == f"red team: {ON_WORKER} ({task_address(prefix, ON_WORKER)})"
    finally:
        lifecycle.down(running)
        p05.stop_server()  # the team moves together in the tests below: none may run


def task_address(prefix: str, user: str) -> str:
    """A participant's server's address on their own network."""
    task = docker("service", "ps", "-q", "--filter", "desired-state=running", f"{prefix}-{user}")
    attrs = json.loads(docker("inspect", task.split()[0]))[0]
    address = plant_reach.address_on(attrs, own_network(prefix, user))
    assert address, f"{user}'s server has no address on its own network"
    return address


def published(prefix: str, user: str, address: str) -> tuple[str, int]:
    task = docker("service", "ps", "-q", "--filter", "desired-state=running", f"{prefix}-{user}")
    port = docker("inspect", task.split()[0], "--format",
                  "{{(index .Status.PortStatus.Ports 0).PublishedPort}}")  # fmt: skip
    return address, int(port)


def test_cluster_move_copies_a_teams_work_to_another_node_and_pins_it_there(
    lab, worker, prefix, cluster
):
    p04 = lab.login(ON_WORKER)
    p04.start_server(timeout=240)
    assert node_of(ON_WORKER, prefix) == worker.name
    p04.run_code(
        "open('/home/jovyan/work/model.txt', 'w').write('isolation forest, 0.7')\n"
        "open('/home/jovyan/work/team/findings.md', 'w').write('LIT101 spoofed at 14:02')"
    )
    data_dir = str(cluster.paths.data_dir)
    manager = docker("info", "--format", "{{.Name}}").strip()
    # Refused while their server runs, and to a node the swarm does not have.
    running = icslab("cluster", "move", ON_WORKER, "--to", manager, "--data-dir", data_dir)
    assert running.returncode == 2 and "stop it first" in running.stdout + running.stderr
    p04.stop_server()
    nowhere = icslab("cluster", "move", ON_WORKER, "--to", "node9", "--data-dir", data_dir)
    assert nowhere.returncode == 2 and "no node node9" in nowhere.stdout + nowhere.stderr

    moved = icslab("cluster", "move", ON_WORKER, "--to", manager, "--data-dir", data_dir)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "p04, p05 now live on" in moved.stdout  # the team moves together
    p04.start_server(timeout=240)
    assert node_of(ON_WORKER, prefix) == manager
    assert (
        p04.run_code(
            "print(open('/home/jovyan/work/model.txt').read(),"
            " open('/home/jovyan/work/team/findings.md').read(), sep=' | ')"
        )
        == "isolation forest, 0.7 | LIT101 spoofed at 14:02\n"
    )
    # Moving again onto a node that still holds the team's old copy is refused, not merged.
    p04.stop_server()
    back = icslab("cluster", "move", ON_WORKER, "--to", worker.name, "--data-dir", data_dir)
    assert back.returncode == 2 and "already has this volume" in back.stdout + back.stderr


def test_cluster_move_fresh_pins_a_participant_of_a_lost_node_with_an_empty_folder(
    lab, worker, prefix, cluster
):
    p01 = lab.login(ON_MANAGER)
    p01.start_server(timeout=240)
    p01.run_code("open('/home/jovyan/work/old.txt', 'w').write('on the node that was lost')")
    p01.stop_server()
    data_dir = str(cluster.paths.data_dir)
    moved = icslab("cluster", "move", ON_MANAGER, "--to", worker.name, "--fresh",
                   "--data-dir", data_dir)  # fmt: skip
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "copied" not in moved.stdout
    p01.start_server(timeout=240)
    assert node_of(ON_MANAGER, prefix) == worker.name
    assert p01.run_code("import os; print(os.path.exists('/home/jovyan/work/old.txt'))") == (
        "False\n"
    )
