"""Login-to-kernel-ready for a crowd on a two-node swarm, against the same crowd on one
node, in one run.

It makes a real swarm lab on this machine: `icslab cluster init` (this engine is the
manager, its options set as the join steps say), a worker node (a second dockerd in a
container, icslab.testing.swarm_node) that trusts the lab registry and joins, then
`icslab up` with `[cluster] mode = "swarm"`. --users participants (default 20), each
in a team of their own, log in at the same moment and wait for a kernel to answer 6*7 (as in
bench/spawn.py), in turns:

  spread    half of them pinned to the manager, half to the worker
  one node  all of them pinned to the manager

--rounds times each, alternating (spread, one node, one node, spread, ...), so that
neither gets the warmer machine. Both nodes share this machine's 2 cores: the figures
show what spreading costs or saves in the hub, the registry and the network, not the
CPU a second machine would add.

    .venv/bin/python bench/swarm.py [--users 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from spawn import PHASES, Crowd, crowd, percentile, report

from icslab.cluster import registry
from icslab.hub.docker_env import remove_lab_resources
from icslab.hub.front import certs
from icslab.hub.swarm_spawner import NODE_LABEL, record_placement
from icslab.lab import LabPaths
from icslab.testing import RunningLab, unique_prefix
from icslab.testing.swarm_node import WorkerNode, bridge_gateway, docker, swarm_state

PREPARED = ["--no-new-privileges", "--label", f"{NODE_LABEL}=prepared"]


def icslab(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "icslab.cli", *args], capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"icslab {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    if swarm_state().get("LocalNodeState") == "active":
        sys.exit("this engine is in a swarm already: the bench makes its own (docker swarm leave)")
    names = [f"s{n:02d}" for n in range(1, options.users + 1)]
    # Each alone in a team of their own: a team lives on one node.
    roster = [("trainer", "", "instructor"), *((name, name, "participant") for name in names)]
    prefix = unique_prefix()
    with tempfile.TemporaryDirectory(prefix="icslab-swarm-bench-") as folder:
        paths = LabPaths(Path(folder) / "data")
        address = bridge_gateway()
        said = icslab("cluster", "init", "--address", address, "--data-dir", str(paths.data_dir))
        token = said.split("docker swarm join --token ", 1)[1].split()[0]
        try:
            with WorkerNode(unique_prefix(), dockerd_options=PREPARED) as worker:
                ca = (paths.lab_ca / certs.CA_CERT).read_text()
                worker.trust_registry(f"{address}:{registry.REGISTRY_PORT}", ca)
                worker.join(token, address)
                manager = docker("info", "--format", "{{.Swarm.NodeID}}").strip()
                assert worker.node_id
                lab = RunningLab(
                    Path(folder), roster=roster, hub={"spawner": "docker"},
                    docker={"prefix": prefix}, cluster={"mode": "swarm"},
                )  # fmt: skip
                try:
                    lab.start(timeout=900)  # the first start pulls the image on the worker
                    measured = measure(lab, paths, names, manager, worker.node_id, options)
                finally:
                    lab.stop()
        finally:
            registry.stop(paths)
            remove_lab_resources(prefix, volumes=True)
            docker("swarm", "leave", "--force")
    print_figures(measured, options.users)


def measure(lab, paths, names, manager: str, worker: str, options) -> dict[str, list[Crowd]]:
    half = len(names) // 2
    layouts = {
        "spread": {n: (manager if i < half else worker) for i, n in enumerate(names)},
        "one node": dict.fromkeys(names, manager),
    }
    order = ["spread", "one node"]
    measured: dict[str, list[Crowd]] = {kind: [] for kind in order}
    for round_ in range(options.rounds):
        for kind in order if round_ % 2 == 0 else reversed(order):
            for name, node in layouts[kind].items():
                record_placement(paths.cluster, name, node)
            measured[kind].append(crowd(lab, names, stop=True))
    return measured


def print_figures(measured: dict[str, list[Crowd]], users: int) -> None:
    print(f"login to kernel ready, {users} participants at once, 2 nodes on one machine")
    summary = {}
    for kind, crowds in measured.items():
        phases = [p for c in crowds for p in c.phases]
        report(f"{kind} ({len(crowds)} crowds)", phases, users * len(crowds))
        for failure in (f for c in crowds for f in c.failures):
            print(f"{'':<30} failed: {failure}")
        totals = [sum(p) for p in phases]
        if totals:
            summary[kind] = (statistics.median(totals), percentile(totals, 0.95))
    if len(summary) == 2:
        (p50_s, p95_s), (p50_o, p95_o) = summary["spread"], summary["one node"]
        print(f"spread / one node: p50 {p50_s / p50_o:.2f}, p95 {p95_s / p95_o:.2f}")
    print(f"phases: {', '.join(PHASES)}")


if __name__ == "__main__":
    main()
