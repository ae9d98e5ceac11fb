"""Docker mode: each team's servers reach their own team's live plant and nothing else.
The plants run on the host, each on its team's plant network's gateway; the network has
inter-container traffic off and a firewall table of its own. Attacked from inside
participants' containers: another team's plant, a teammate's server over the plant
network, the host's other ports through the plant gateway, a write without red team."""

import os
import socket
import threading

import pytest

from icslab.hub import firewall
from icslab.hub.docker_env import engine_answers
from icslab.hub.teams import plant_network, plants_container
from icslab.plant import lifecycle
from icslab.plant.truth import read_truth
from icslab.testing import docker_lab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]


def reaches(client, host, port) -> str:
    """From the participant's kernel: "open", or why not, within 3 s."""
    return client.run_code(
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(({host!r}, {port}), timeout=3).close(); print('open')\n"
        "except OSError as error:\n"
        "    print(type(error).__name__)\n"
    ).strip()


@pytest.fixture
def listener():
    """A service of the host's on every address (an sshd, a database...)."""
    server = socket.create_server(("0.0.0.0", 0))
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_a_team_reaches_its_own_plant_and_nothing_else(tmp_path, engine, prefix, listener):
    with docker_lab(tmp_path, prefix) as lab:
        p01, p02, p03 = (lab.login(name) for name in ("p01", "p02", "p03"))
        for member in (p01, p02):
            member.start_server()
        resolved = lab.resolved()
        lifecycle.up(resolved, speed=20)  # p01 and p02 join water's network now
        p03.start_server()  # p03 joins power's as its server starts
        water, power = (lifecycle.load_config(lifecycle.folder_of(resolved, team))
                        for team in ("water", "power"))  # fmt: skip

        # The plants parse what participants send: a hardened container, never root.
        plants = engine.containers.get(plants_container(prefix))
        config, host = plants.attrs["Config"], plants.attrs["HostConfig"]
        assert config["User"] == "1000:100" and host["CapDrop"] == ["ALL"]
        assert host["SecurityOpt"] == ["no-new-privileges"] and host["ReadonlyRootfs"]
        assert host["Memory"] == host["MemorySwap"] > 0 and host["PidsLimit"] > 0
        assert [m["Destination"] for m in plants.attrs["Mounts"]] == ["/plants"]
        assert plants.exec_run("id -u").output.strip() == b"1000"

        # Each team's kernel finds and reads its own plant, over its plant network.
        code = (
            "import icslab.plant\n"
            "plant = icslab.plant.connect()\n"
            "print(plant.url, len(plant.history('1min')) > 0, plant.read()['LIT101'] > 0)\n"
        )
        assert p01.run_code(code).split() == [
            f"http://{water.data[0]}:{water.data[1]}/",
            "True",
            "True",
        ]
        assert p03.run_code(code).split() == [
            f"http://{power.data[0]}:{power.data[1]}/",
            "True",
            "True",
        ]

        # The lab's attacker injects on water's plant: p01 sees its writes on the wire,
        # from a host that is neither the HMI nor a participant.
        lifecycle.attack(resolved, "water", {"kind": "modbus_injection", "target": "P101_CMD",
                                             "value": 0, "seconds": 600})  # fmt: skip
        seen = p01.run_code(
            "import time, icslab.plant\n"
            "plant = icslab.plant.connect()\n"
            "for _ in range(100):\n"
            "    t = plant.traffic('5min')\n"
            "    writes = t[t['function_code'] == 6]\n"
            "    if len(writes) >= 2: break\n"
            "    time.sleep(0.2)\n"
            "print(sorted(set(writes['src'])), sorted(set(t.loc[t['function_code'] == 3, 'src'])),"
            " plant.history('10s')['P101_CMD'].iloc[-1])\n"
        )
        writers, readers, pump = seen.strip().split("] ")
        assert writers == f"['{lifecycle.ATTACKER}'" and pump == "0.0"
        assert f"'{water.data[0]}'" in readers  # the HMI polls from the gateway (and p01 read)
        lifecycle.stop_attack(resolved, "water")
        # Another team's plant: its data API and its PLCs.
        assert reaches(p01, *power.data) != "open"
        assert reaches(p01, *power.plcs["PLC1"]) != "open"
        assert reaches(p03, *water.data) != "open"
        # The host's other ports through the plant gateway; the lab's own services too.
        assert reaches(p01, water.data[0], listener) != "open"
        assert reaches(p01, water.data[0], resolved.hub_api_port) != "open"
        # A teammate's server over the plant network.
        network = engine.networks.get(plant_network(prefix, "water"))
        network.reload()
        p02_ip = next(c["IPv4Address"].split("/")[0] for c in network.attrs["Containers"].values()
                      if c["Name"] == f"{prefix}-p02")  # fmt: skip
        assert reaches(p01, p02_ip, 8888) != "open"
        # A write without red team: refused by the PLC, and logged.
        logged = lifecycle.status(resolved)["water"]["writes"]  # the attacker's so far
        assert p01.write_register(*water.plcs["PLC1"], 6, 0) == 1  # illegal function
        assert lifecycle.status(resolved)["water"]["writes"] == logged + 1

        # With --red-team the same write acts, and the truth names who sent it.
        lifecycle.down(resolved)
        lifecycle.up(resolved, speed=20, red_team=True)
        water = lifecycle.load_config(lifecycle.folder_of(resolved, "water"))
        assert p01.write_register(*water.plcs["PLC1"], 6, 0) is None  # taken
        (write,) = read_truth(lifecycle.folder_of(resolved, "water"))
        assert write.by.startswith("red team: p01 (") and write.targets == ("P101_CMD",)

        lifecycle.down(resolved)
        assert not engine.networks.list(names=[plant_network(prefix, "water")])
        assert firewall.remove_plants(prefix) is False  # the table went with them
