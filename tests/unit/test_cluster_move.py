"""`icslab cluster move`, without an engine: which nodes a participant may be moved to."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from icslab.cluster.move import move
from icslab.errors import InputError
from icslab.hub.swarm_spawner import read_placement
from icslab.lab import LabPaths

STARTED_WITH = ["10.0.0.1", "10.0.0.2"]  # the nodes' addresses at `icslab up`


class Swarm:
    """The engine's node list; no participant's server runs."""

    def __init__(self):
        self.nodes = SimpleNamespace(list=lambda: [
            self.node("node-a", "manager", "10.0.0.1"),
            self.node("node-b", "worker", "10.0.0.2"),
            self.node("node-c", "latecomer", "10.0.0.3"),  # joined after `icslab up`
            self.node("node-d", "gone", "10.0.0.2", state="down"),
        ])  # fmt: skip
        self.services = SimpleNamespace(list=lambda filters: [])

    @staticmethod
    def node(node_id: str, hostname: str, address: str, state: str = "ready"):
        attrs = {"Description": {"Hostname": hostname}, "Status": {"State": state, "Addr": address}}
        return SimpleNamespace(id=node_id, attrs=attrs)


def swarm_lab(tmp_path, started_with=STARTED_WITH):
    return SimpleNamespace(
        swarm_image="10.0.0.1:5000/icslab-participant:abc",
        swarm_nodes=started_with,
        members=[SimpleNamespace(username="p07", team="")],
        settings=SimpleNamespace(docker=SimpleNamespace(prefix="lab")),
        paths=LabPaths(tmp_path),
    )


@pytest.mark.parametrize("to", ["worker", "node-b"])
def test_a_participant_moves_to_a_ready_node_the_lab_started_with(tmp_path, to):
    lab = swarm_lab(tmp_path)
    moved = move(Swarm(), lab, "p07", to, fresh=False)
    assert (moved.users, moved.target, moved.copied) == (["p07"], "node-b", False)
    assert read_placement(lab.paths.cluster) == {"p07": "node-b"}


@pytest.mark.parametrize(
    ("to", "said"),
    [
        ("latecomer", "joined after the lab started.*run `icslab up` again"),
        ("gone", "is down, not ready"),
        ("nowhere", "no node nowhere in the swarm"),
    ],
)
def test_a_move_to_a_node_whose_servers_could_not_start_is_refused_and_nothing_is_pinned(
    tmp_path, to, said
):
    lab = swarm_lab(tmp_path)
    with pytest.raises(InputError, match=said):
        move(Swarm(), lab, "p07", to, fresh=False)
    assert read_placement(lab.paths.cluster) == {}


def test_after_up_again_the_latecomer_takes_participants(tmp_path):
    lab = swarm_lab(tmp_path, started_with=[*STARTED_WITH, "10.0.0.3"])
    assert move(Swarm(), lab, "p07", "latecomer", fresh=False).target == "node-c"
