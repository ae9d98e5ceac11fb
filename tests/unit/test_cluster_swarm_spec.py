"""Swarm mode, without an engine: what a participant's service asks the swarm for, where
it is pinned, what the registry serves, and what a joining machine is told to run."""

from __future__ import annotations

import asyncio
import json
import subprocess
from types import SimpleNamespace

import pytest

from icslab.cluster import guard, registry, swarm
from icslab.cluster.setup import SWAP_ON, engine_problems
from icslab.errors import InputError
from icslab.hub.swarm_spawner import (
    NODE_LABEL,
    SERVER_PORT,
    SwarmSpawner,
    node_address,
    read_placement,
    record_placement,
)
from icslab.lab import LabPaths


class RecordingSwarm:
    """Stands in for the engine: records the service asked for, reports one task."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.networks: list[dict] = []  # what `networks` finds (by name prefix, as the API)

    async def __call__(self, method, *args, **kwargs):
        self.calls.append((method, {"args": args, **kwargs}))
        if method == "networks":
            return self.networks
        if method == "tasks":
            return [{"ID": "t1", "NodeID": "node-b", "Status": {"State": "running"}}]
        if method == "nodes":
            return [{"ID": f"node-{n}", "Status": {"Addr": f"10.0.0.{i}"}}
                    for i, n in enumerate("abc", start=1)]  # fmt: skip
        return {"ID": "service-1"}

    def created(self) -> dict:
        return next(kwargs for method, kwargs in self.calls if method == "create_service")


def spawner_for(tmp_path, name, *, teammates=(), state=None):
    user = SimpleNamespace(name=name, escaped_name=name, id=1, url=f"/user/{name}/")
    spawner = SwarmSpawner(
        user=user,
        cluster_dir=str(tmp_path / "cluster"),
        prefix="lab",
        image="10.0.0.1:5000/icslab-participant:abc@sha256:0123",
        mem_limit="2G",
        cpu_limit=1.5,
        pids_limit=300,
        team_members=json.dumps({name: list(teammates)}),
    )
    spawner.volumes = {f"lab-{name}": "/home/jovyan/work", "lab-team-blue": "/home/jovyan/team"}
    if state:
        spawner.load_state(state)
    engine = RecordingSwarm()
    spawner.docker = engine  # type: ignore[method-assign]
    spawner.get_env = lambda: {}  # type: ignore[method-assign]

    async def no_command():
        return []

    spawner.get_command = no_command  # type: ignore[method-assign]
    return spawner, engine


def test_a_first_start_goes_to_any_prepared_node_with_limits_and_hardening(tmp_path):
    spawner, engine = spawner_for(tmp_path, "p01")
    asyncio.run(spawner.create_object())
    task = engine.created()["task_template"]
    assert task["Placement"]["Constraints"] == [f"engine.labels.{NODE_LABEL}==prepared"]
    limits = task["Resources"]["Limits"]
    assert limits == {"MemoryBytes": 2 * 2**30, "NanoCPUs": 1_500_000_000, "Pids": 300}
    container = task["ContainerSpec"]
    assert container["User"] == "1000:100" and container["CapabilityDrop"] == ["ALL"]
    assert container["Image"].endswith("@sha256:0123")  # by digest: never another build
    mounts = {m["Source"]: (m["Type"], m["Target"]) for m in container["Mounts"]}
    assert mounts == {
        "lab-p01": ("volume", "/home/jovyan/work"),
        "lab-team-blue": ("volume", "/home/jovyan/team"),
    }
    assert task["Networks"] == [{"Target": "lab-net-p01"}]  # a network of their own
    # Attachable: the plants' container joins it once their team has a live plant.
    assert ("create_network", {"args": ("lab-net-p01",), "driver": "overlay", "attachable": True,
            "labels": {"org.icslab.lab": "lab"}}) in engine.calls  # fmt: skip
    ports = engine.created()["endpoint_spec"]["Ports"]
    assert ports == [{"Protocol": "tcp", "TargetPort": SERVER_PORT, "PublishMode": "host"}]
    assert engine.created()["labels"] == {"org.icslab.user": "p01", "org.icslab.lab": "lab"}


def test_an_own_network_made_before_plants_joined_them_is_made_again_attachable(tmp_path):
    spawner, engine = spawner_for(tmp_path, "p01")
    old = {"Name": "lab-net-p01", "Id": "n-old", "Attachable": False}
    engine.networks = [old, {"Name": "lab-net-p010", "Id": "n-other", "Attachable": False}]
    asyncio.run(spawner.create_object())
    made = [(method, kwargs["args"]) for method, kwargs in engine.calls if "_network" in method]
    assert made == [("remove_network", ("n-old",)), ("create_network", ("lab-net-p01",))]


def test_a_node_that_joined_after_the_lab_started_gets_no_server(tmp_path):
    spawner, engine = spawner_for(tmp_path, "p01")
    spawner.node_addresses = ["10.0.0.1", "10.0.0.2"]  # node-c joined since
    asyncio.run(spawner.create_object())
    constraints = engine.created()["task_template"]["Placement"]["Constraints"]
    assert constraints == [f"engine.labels.{NODE_LABEL}==prepared", "node.id!=node-c"]


def test_a_later_start_is_pinned_to_the_node_with_their_work(tmp_path):
    spawner, engine = spawner_for(tmp_path, "p01", state={"node": "node-b"})
    asyncio.run(spawner.create_object())
    constraints = engine.created()["task_template"]["Placement"]["Constraints"]
    assert "node.id==node-b" in constraints


def test_a_move_rewrites_the_record_which_wins_over_the_old_state(tmp_path):
    record_placement(tmp_path / "cluster", "p01", "node-c")
    spawner, _ = spawner_for(tmp_path, "p01", state={"node": "node-b"})
    assert spawner.pinned_node() == "node-c"


def test_a_team_lives_on_one_node_so_a_newcomer_joins_a_teammate(tmp_path):
    record_placement(tmp_path / "cluster", "p02", "node-b")
    newcomer, _ = spawner_for(tmp_path, "p01", teammates=("p02", "p03"))
    alone, _ = spawner_for(tmp_path, "p09")
    assert newcomer.pinned_node() == "node-b" and alone.pinned_node() == ""


def test_the_pin_survives_the_server_stopping(tmp_path):
    spawner, _ = spawner_for(tmp_path, "p01", state={"node": "node-b"})
    spawner.clear_state()
    assert spawner.get_state()["node"] == "node-b"


def test_placement_records_keep_everyone_and_replace_one(tmp_path):
    folder = tmp_path / "cluster"
    record_placement(folder, "p01", "a")
    record_placement(folder, "p02", "b")
    record_placement(folder, "p01", "c")
    assert read_placement(folder) == {"p01": "c", "p02": "b"}
    assert read_placement(tmp_path / "nowhere") == {}


def test_the_serving_registry_is_read_only_and_the_push_one_only_on_loopback(tmp_path):
    served = registry.config(tmp_path, "10.0.0.1:5000", tls=(tmp_path / "c", tmp_path / "k"))
    pushing = registry.config(tmp_path, "127.0.0.1:4000", tls=None)
    assert served["storage"]["maintenance"] == {"readonly": {"enabled": True}}
    assert served["http"]["tls"] == {"certificate": str(tmp_path / "c"), "key": str(tmp_path / "k")}
    assert "maintenance" not in pushing["storage"] and "tls" not in pushing["http"]
    assert served["storage"]["filesystem"] == pushing["storage"]["filesystem"]  # one storage


def test_a_joining_machine_trusts_the_registry_sets_engine_options_and_joins():
    cluster = swarm.Cluster(address="10.0.0.1", registry="10.0.0.1:5000")
    script = swarm.join_script(cluster, "-----BEGIN CERTIFICATE-----\nX\n", "SWMTKN-1-x")
    assert "/etc/docker/certs.d/10.0.0.1:5000/ca.crt" in script
    assert '"no-new-privileges": true' in script and f"{NODE_LABEL}=prepared" in script
    assert "com.docker.network.bridge.enable_icc=false" in script
    assert swarm.SWAP_OFF in script
    assert script.strip().endswith("docker swarm join --token SWMTKN-1-x 10.0.0.1:2377")


NO_SWAP = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"  # /proc/swaps, header only
SWAP = NO_SWAP + "/swapfile                               file\t\t4194300\t\t0\t\t-2\n"


def test_an_engine_is_refused_for_each_missing_option_and_accepted_with_both():
    labels = [f"{NODE_LABEL}=prepared", "other=1"]
    guarded = "Name:\tcat\nNoNewPrivs:\t1\nSeccomp:\t2\n"  # a container's /proc/self/status
    assert engine_problems(labels, guarded, NO_SWAP) == []
    assert engine_problems(["other=1"], guarded, NO_SWAP) == [
        f"it lacks the label {NODE_LABEL}=prepared"
    ]
    unguarded = guarded.replace("NoNewPrivs:\t1", "NoNewPrivs:\t0")
    assert engine_problems(labels, unguarded, NO_SWAP) == [
        "no-new-privileges is not on (a container it ran could gain privileges)"
    ]
    assert engine_problems(labels, guarded, SWAP) == [SWAP_ON]
    assert len(engine_problems([], unguarded, SWAP)) == 3


@pytest.fixture
def node(tmp_path):
    """A node as the guard's script sees it: its /proc files, and an nft that notes
    what it was given."""
    (tmp_path / "bin").mkdir()
    nft = tmp_path / "bin" / "nft"
    nft.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/nft.calls\ncat >> {tmp_path}/nft.in\n')
    nft.chmod(0o755)
    (tmp_path / "status").write_text("Name:\tsh\nNoNewPrivs:\t1\n")
    (tmp_path / "swaps").write_text(NO_SWAP)
    return tmp_path


def run_guard(node) -> tuple[int, str]:
    """The guard's script on `node`; it ends where the service would hold on."""
    code = guard.script("lab").replace("/proc/swaps", str(node / "swaps"))
    code = code.replace("/proc/self/status", str(node / "status"))
    code = code.replace("sleep infinity", "true")
    env = {"PATH": f"{node / 'bin'}:/usr/bin:/bin", "RULESET": "table inet lab-lab-node {}"}
    done = subprocess.run(["sh", "-c", code], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    return done.returncode, done.stdout


def test_the_node_guard_installs_the_table_on_a_prepared_node(node):
    code, said = run_guard(node)
    assert (code, said) == (0, "lab firewall installed\n")
    assert (node / "nft.in").read_text() == "table inet lab-lab-node {}"


@pytest.mark.parametrize("wrong", ["swap", "no-new-privileges"])
def test_the_node_guard_leaves_a_node_with_swap_or_without_no_new_privileges_unguarded(node, wrong):
    if wrong == "swap":
        (node / "swaps").write_text(SWAP)
    else:
        (node / "status").write_text("Name:\tsh\nNoNewPrivs:\t0\n")
    code, said = run_guard(node)
    assert code == 1 and said.startswith(f"{wrong} is o") and "see the join steps" in said
    assert not (node / "nft.calls").exists()  # so `icslab up` names the node


def test_a_manager_reporting_no_address_is_found_by_its_manager_address():
    attrs = {"Status": {"Addr": "0.0.0.0"}, "ManagerStatus": {"Addr": "10.0.0.1:2377"}}
    assert node_address(attrs) == "10.0.0.1"
    assert node_address({"Status": {"Addr": "10.0.0.2"}}) == "10.0.0.2"


def test_status_before_init_says_to_run_init(tmp_path):
    with pytest.raises(InputError, match="icslab cluster init"):
        swarm.Cluster.load(LabPaths(tmp_path))


def test_every_node_lets_containers_reach_only_the_labs_ports_on_the_manager():
    text = guard.ruleset("lab", "10.0.0.1", (8124, 8081))
    assert text.startswith("table inet lab-lab-node {}\ndelete table inet lab-lab-node\n")
    for hook in ("input", "forward"):  # the node itself, and anything beyond it
        chain = text.split(f"chain {hook} {{", 1)[1].split("}\n", 1)[0]
        assert f"type filter hook {hook} priority filter; policy accept;" in chain
        rules = [line.strip() for line in chain.splitlines()[2:] if line.strip()]
        assert rules == [
            'iifname "docker_gwbridge" ct state established,related ct direction reply accept',
            'iifname "docker_gwbridge" ip daddr 10.0.0.1 tcp dport { 8081, 8124 } accept',
            'iifname "docker_gwbridge" counter drop',
        ]


class GuardedSwarm:
    """Stands in for an engine whose node guard has these tasks and said these lines."""

    def __init__(self, tasks, said=(), *, at_first=None):
        self._tasks, self._said = tasks, said
        self._at_first = at_first  # what the first look finds: `up` starts the guard
        node = SimpleNamespace(
            id="n-w1", attrs={"Description": {"Hostname": "w1", "Engine": {}}, "Status": {}}
        )
        self.nodes = SimpleNamespace(list=lambda: [node])
        self.services = SimpleNamespace(get=lambda name: self)

    def tasks(self, filters=None):
        first, self._at_first = self._at_first, None
        return self._tasks if first is None else first

    def logs(self, **kwargs):
        assert kwargs.get("details")  # which node said it
        return iter(self._said)


def stopped(task_id, state="failed", err="task: non-zero exit (1)"):
    return {"ID": task_id, "NodeID": "n-w1", "Status": {"State": state, "Err": err}}


SWAP_SAID = b"com.docker.swarm.node.id=n-w1,com.docker.swarm.service.id=s1 swap is on on this "
SWAP_SAID += b"node: a server could use as much swap again as its memory limit; see the join steps"


def test_a_node_whose_guard_stops_again_and_again_is_named_with_what_the_guard_said():
    engine = GuardedSwarm([stopped("t1"), stopped("t2")], [SWAP_SAID])
    (why,) = guard.refusing_nodes(engine, "lab").values()
    assert list(guard.refusing_nodes(engine, "lab")) == ["w1"] and why.startswith("swap is on")
    starting = GuardedSwarm([stopped("t1"), stopped("t2")], [SWAP_SAID], at_first=[])
    with pytest.raises(InputError, match="the lab firewall cannot start on w1: swap is on"):
        guard.wait_guarded(starting, "lab", timeout=5)  # type: ignore[arg-type]


def test_a_node_that_cannot_pull_is_named_with_the_engines_words():
    rejected = [stopped(t, "rejected", "No such image: 10.0.0.1:5000/x") for t in ("t1", "t2")]
    assert guard.refusing_nodes(GuardedSwarm(rejected), "lab") == {
        "w1": "No such image: 10.0.0.1:5000/x"
    }


def test_one_stop_or_stops_before_this_start_do_not_name_a_node():
    assert guard.refusing_nodes(GuardedSwarm([stopped("t1")], [SWAP_SAID]), "lab") == {}
    mended = GuardedSwarm([stopped("t1"), stopped("t2")], [SWAP_SAID])
    assert guard.refusing_nodes(mended, "lab", frozenset({"t1", "t2"})) == {}
