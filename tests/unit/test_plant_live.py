"""Scenarios: an instructor runs a live plant per team on the lab server (local mode:
processes on loopback), attacks one, and a team watches theirs with the notebook client.
Everything here is real: the plant processes, Modbus/TCP, the HTTP APIs, the CLI."""

import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

from icslab.data import load_plant
from icslab.errors import InputError
from icslab.plant import connect, lifecycle
from icslab.plant.truth import read_truth
from icslab.sim.attacks import KINDS as ATTACK_KINDS
from icslab.waiting import wait_for

SPEED = 20  # plant seconds per second: a minute of plant time in 3 s


@pytest.fixture
def plants(lab):
    lab.save()
    lines = lifecycle.up(lab, speed=SPEED)
    yield lab, lines
    lifecycle.down(lab)


def data_url(lab, team):
    return lifecycle.data_url(lifecycle.folder_of(lab, team))


def icslab(lab, *args):
    env = {**os.environ, "ICSLAB_DATA_DIR": str(lab.data_dir)}
    return subprocess.run([sys.executable, "-m", "icslab.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_each_team_gets_a_plant_whose_history_is_shaped_as_the_datasets(plants):
    lab, lines = plants
    assert [line.split(":")[0] for line in lines] == ["power", "water"]
    water = connect(data_url(lab, "water"))
    wait_for(lambda: len(water.history("1min")) >= 30, timeout=30, what="30 s of history")

    live = water.history("1min")
    recorded = load_plant("sample").features
    assert list(live.columns) == list(recorded.columns)
    assert (live.dtypes == recorded.dtypes).all()
    assert live.index.dtype == recorded.index.dtype and live.index.name == "timestamp"
    assert (live.index.to_series().diff().dropna() == pd.Timedelta("1s")).all()
    now = water.read()  # off the PLCs themselves
    assert list(now.index) == list(recorded.columns) and 0 < now["LIT101"] < 5
    assert set(water.registers["port"]) != set(connect(data_url(lab, "power")).registers["port"])


def test_an_attack_shows_in_the_teams_history_and_only_the_lab_sees_its_truth(plants):
    lab, _ = plants
    water = connect(data_url(lab, "water"))
    wait_for(lambda: len(water.history("1min")) >= 5, timeout=30, what="the plant to run")

    result = icslab(lab, "plant", "attack", "sensor_constant", "--team", "water",
                    "--target", "LIT101", "--value", "4.9", "--for", "5m")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (attack,) = read_truth(lifecycle.folder_of(lab, "water"))
    assert (attack.kind, attack.targets, attack.by) == (
        "sensor_constant",
        ("LIT101",),
        "instructor",
    )
    assert attack.end - attack.start == pd.Timedelta("5min")

    def spoofed():
        rows = water.history("10min")
        return rows.loc[rows.index >= attack.start]

    wait_for(lambda: len(spoofed()) >= 10, timeout=30, what="10 s of the attack")
    rows = spoofed()
    assert (rows["LIT101"] == 4.9).all()  # shown within the first second
    assert (rows[["P101_CMD", "P102_CMD"]].iloc[2:] == 0).all().all()  # the pumps stopped
    assert read_truth(lifecycle.folder_of(lab, "power")) == []  # the other team: untouched
    assert oct((lifecycle.folder_of(lab, "water") / "truth.json").stat().st_mode & 0o777) == "0o600"

    status = icslab(lab, "plant", "status")
    assert (
        "water: running at 20x" in status.stdout
        and "L01 sensor_constant on LIT101" in status.stdout
    )
    assert icslab(lab, "plant", "stop-attack", "--team", "water").returncode == 0
    (stopped,) = read_truth(lifecycle.folder_of(lab, "water"))
    assert stopped.end < attack.end


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["sensor_constant", "--team", "gas", "--target", "LIT101"], "no such team"),
        (["sensor_constant", "--team", "water", "--target", "P101_CMD"], "is not a sensor tag"),
        (["sensor_bias", "--team", "water", "--target", "LIT101", "--for", "0m"], "a duration"),
        (["teleport", "--team", "water"], "not an attack kind"),
        (
            ["coordinated", "--team", "water", "--action", "actuator_force:P401_CMD=0"],
            "at least two",
        ),
        (["coordinated", "--team", "water", "--action", "P401_CMD"], "KIND:TARGET=VALUE"),
    ],
)
def test_a_wrong_attack_is_refused_saying_what_to_fix(plants, args, says):
    lab, _ = plants
    result = icslab(lab, "plant", "attack", *args)
    assert result.returncode == 2 and says in result.stdout + result.stderr
    assert read_truth(lifecycle.folder_of(lab, "water")) == []


def test_plants_need_teams_and_a_sane_speed(lab):
    with pytest.raises(InputError, match="--speed 0"):
        lifecycle.up(lab, speed=0)
    with pytest.raises(InputError, match="--speed 2000"):
        lifecycle.up(lab, speed=2000)


def test_reset_ends_the_attack_and_keeps_history_and_truth(plants):
    lab, _ = plants
    water, folder = connect(data_url(lab, "water")), lifecycle.folder_of(lab, "water")
    wait_for(lambda: len(water.history("1min")) >= 5, timeout=30, what="the plant to run")
    lifecycle.attack(lab, "water", {"kind": "actuator_force", "target": "P101_CMD",
                                    "value": 0.0, "seconds": 3600})  # fmt: skip
    before = water.history("10min")

    lifecycle.reset(lab, "water")

    (attack,) = read_truth(folder)
    wait_for(lambda: water.history("10min").index.max() >= attack.end + pd.Timedelta("20s"),
             timeout=30, what="20 s after the reset")  # fmt: skip
    after = water.history("10min")
    assert after.index[0] == before.index[0]  # history kept
    assert (after.index.to_series().diff().dropna() == pd.Timedelta("1s")).all()  # one clock
    assert attack.end - attack.start < pd.Timedelta("10min")  # the attack ended at the reset
    fresh = after.loc[after.index > attack.end + pd.Timedelta("5s")]
    assert (fresh["P101_CMD"] + fresh["P102_CMD"] > 0).all()  # a pump runs again


def test_without_red_team_a_participants_write_is_refused(plants):
    from pymodbus.client import ModbusTcpClient

    lab, _ = plants
    folder = lifecycle.folder_of(lab, "water")
    host, port = lifecycle.load_config(folder).plcs["PLC1"]
    client = ModbusTcpClient(host, port=port)
    assert client.connect()
    answer = client.write_register(6, 0, device_id=1)  # P101_CMD
    client.close()
    assert answer.isError() and answer.exception_code == 1  # illegal function
    assert read_truth(folder) == []
    assert lifecycle.status(lab)["water"]["writes"] == 1  # logged


def test_in_red_team_mode_a_participants_write_acts_and_is_in_the_truth(lab):
    from pymodbus.client import ModbusTcpClient

    lifecycle.up(lab, speed=SPEED, red_team=True)
    try:
        folder = lifecycle.folder_of(lab, "water")
        water = connect(data_url(lab, "water"))
        host, port = lifecycle.load_config(folder).plcs["PLC1"]
        client = ModbusTcpClient(host, port=port)
        assert client.connect()
        answer = client.write_register(6, 0, device_id=1)  # P101_CMD off
        client.close()
        assert not answer.isError()
        (write,) = read_truth(folder)
        assert write.kind == "modbus_injection" and write.targets == ("P101_CMD",)
        assert write.by.startswith("red team: 127.0.0.1:")
        assert write.by.endswith("(local mode: who cannot be told)")
        wait_for(lambda: water.history("1min").index.max() > write.start, timeout=30,
                 what="the forced second in the history")  # fmt: skip
        assert water.history("1min").loc[write.start, "P101_CMD"] == 0.0
    finally:
        lifecycle.down(lab)


def test_a_coordinated_attack_acts_on_every_target(plants):
    lab, _ = plants
    water = connect(data_url(lab, "water"))
    result = icslab(lab, "plant", "attack", "coordinated", "--team", "water", "--for", "2m",
                    "--action", "sensor_constant:AIT402=8.5",
                    "--action", "actuator_force:P501_CMD=1")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (attack,) = read_truth(lifecycle.folder_of(lab, "water"))
    assert attack.kind == "coordinated" and attack.targets == ("AIT402", "P501_CMD")
    wait_for(lambda: water.history("5min").index.max() >= attack.start + pd.Timedelta("5s"),
             timeout=30, what="5 s of the attack")  # fmt: skip
    during = water.history("5min").loc[attack.start :]
    assert (during["AIT402"] == 8.5).all() and (during["P501_CMD"] == 1).all()


def test_reconnaissance_is_on_the_wire_in_the_teams_traffic(plants):
    lab, _ = plants
    water = connect(data_url(lab, "water"))
    assert icslab(lab, "plant", "attack", "reconnaissance", "--team", "water",
                  "--target", "PLC3", "--for", "2m").returncode == 0  # fmt: skip
    (attack,) = read_truth(lifecycle.folder_of(lab, "water"))

    def scans():
        traffic = water.traffic("10min")
        return traffic[traffic["src"] == lifecycle.ATTACKER]

    wait_for(lambda: len(scans()) >= 40, timeout=60, what="the scan to reach address 40")
    traffic, scan = water.traffic("10min"), scans()
    recorded = load_plant("sample").modbus()
    assert list(traffic.columns) == list(recorded.columns)
    assert (traffic.dtypes == recorded.dtypes).all()
    assert set(traffic.loc[traffic["src"] == "127.0.0.1", "function_code"]) == {3}  # the HMI
    plc3 = lifecycle.load_config(lifecycle.folder_of(lab, "water")).plcs["PLC3"]
    assert set(scan["dst"]) == {plc3[0]} and set(scan["unit_id"]) == {3}
    assert list(scan["address"][:40]) == list(range(40))  # one address after the other
    beyond = scan[scan["address"] >= 10]  # PLC3 holds 10 registers: the rest do not exist
    assert (beyond["exception_code"] == 2).all() and (scan["address"] < 10).any()
    assert (scan["timestamp"] >= attack.start - pd.Timedelta("1s")).all()


def test_a_shared_plant_serves_every_team_and_is_attacked_without_naming_one(lab):
    lab.save()
    lines = lifecycle.up(lab, speed=SPEED, one=True)
    try:
        assert len(lines) == 1 and "the room's plant: up" in lines[0]
        water, power = (lifecycle.folder_of(lab, team) for team in ("water", "power"))
        assert water == power == lab.paths.plants / lifecycle.SHARED
        assert icslab(lab, "plant", "attack", "frozen", "--target", "LIT401").returncode == 0
        (attack,) = read_truth(water)
        assert attack.kind == "frozen"
        assert list(lifecycle.status(lab)) == ["the room"]
        refused = icslab(lab, "plant", "attack", "frozen", "--team", "gas", "--target", "LIT401")
        assert refused.returncode == 2 and "no such team" in refused.stdout + refused.stderr
    finally:
        lifecycle.down(lab)
    lifecycle.up(lab, speed=SPEED)  # per team again
    try:
        assert lifecycle.folder_of(lab, "water") == lab.paths.plants / "water"
        without = icslab(lab, "plant", "attack", "frozen", "--target", "LIT401")
        assert without.returncode == 2 and "--team: whose plant" in without.stdout + without.stderr
    finally:
        lifecycle.down(lab)


def test_stream_yields_each_new_second_once_in_order(plants):
    lab, _ = plants
    water = connect(data_url(lab, "water"))
    seen = []
    for rows in water.stream(every=0.05):
        seen.extend(rows.index)
        if len(seen) >= 40:
            break
    assert seen == sorted(set(seen))  # no second twice, none out of order
    assert (pd.Series(seen).diff().dropna() == pd.Timedelta("1s")).all()  # none missing


KINDS = {  # each kind launched live, and what shows of it within 2 plant seconds
    "sensor_constant": ({"target": "LIT101", "value": 4.9},
                        lambda h, t, s: (h.loc[s:, "LIT101"] == 4.9).all()),
    "sensor_bias": ({"target": "AIT402", "value": 0.6},
                    lambda h, t, s: h.loc[s, "AIT402"] - h["AIT402"].iloc[h.index.get_loc(s) - 1]
                    > 0.5),
    "sensor_drift": ({"target": "LIT401", "value": 720.0},  # 0.2 m a second
                     lambda h, t, s: h.loc[s + pd.Timedelta("2s"), "LIT401"]
                     - h["LIT401"].iloc[h.index.get_loc(s) - 1] > 0.3),
    "frozen": ({"target": "FIT101"},
               lambda h, t, s: h.loc[s:, "FIT101"].nunique() == 1),
    "replay": ({"conceal": ["LIT101"], "lag_minutes": 10},
               lambda h, t, s: (h.loc[s:, "LIT101"].to_numpy()
                                == h["LIT101"].shift(600).loc[s:].to_numpy()).all()),
    "actuator_force": ({"target": "P501_CMD", "value": 1.0},
                       lambda h, t, s: (h.loc[s:, "P501_CMD"] == 1).all()),
    "setpoint_tamper": ({"target": "LSP501_HIGH", "value": 2.0},
                        lambda h, t, s: (h.loc[s:, "LSP501_HIGH"] == 2.0).all()),
    "modbus_injection": ({"target": "P101_CMD", "value": 0.0},
                         lambda h, t, s: (h.loc[s + pd.Timedelta("1s"):, "P101_CMD"] == 0).all()
                         and ((t["function_code"] == 6) & (t["timestamp"] < s + pd.Timedelta("2s"))
                              & (t["src"] == lifecycle.ATTACKER)).any()),
    "reconnaissance": ({"target": "PLC2"},
                       lambda h, t, s: ((t["unit_id"] == 2) & (t["src"] == lifecycle.ATTACKER)
                                        & (t["timestamp"] < s + pd.Timedelta("2s"))).any()),
    "coordinated": ({"actions": [{"kind": "sensor_constant", "target": "LIT502", "value": 1.0},
                                 {"kind": "actuator_force", "target": "MV501", "value": 0.0}]},
                    lambda h, t, s: (h.loc[s:, "LIT502"] == 1.0).all()
                    and (h.loc[s + pd.Timedelta("1s"):, "MV501"] < 100).all()),
}  # fmt: skip


def test_every_kind_of_attack_shows_within_two_seconds_of_its_start(plants):
    lab, _ = plants
    water, folder = connect(data_url(lab, "water")), lifecycle.folder_of(lab, "water")
    wait_for(lambda: len(water.history("15min")) > 620, timeout=60, what="10 min to replay")
    assert set(KINDS) == set(ATTACK_KINDS)
    for number, (kind, (options, shows)) in enumerate(KINDS.items(), start=1):
        lifecycle.attack(lab, "water", {"kind": kind, "seconds": 60, **options})
        attack = read_truth(folder)[-1]
        assert (attack.attack_id, attack.kind) == (f"L{number:02d}", kind)
        wait_for(lambda a=attack: water.history("1min").index.max() >= a.start + pd.Timedelta("2s"),
                 timeout=30, what=f"2 s of {kind}")  # fmt: skip
        history = water.history("15min").loc[: attack.start + pd.Timedelta("2s")]
        assert shows(history, water.traffic("1min"), attack.start), kind
        lifecycle.stop_attack(lab, "water")


def test_a_port_taken_before_the_plant_binds_it_is_picked_again(lab, monkeypatch):
    import socket

    taken = socket.create_server(("127.0.0.1", 0))  # another program's, meanwhile
    free, calls = lifecycle._free_ports, []

    def unlucky(count, host="127.0.0.1"):
        calls.append(count)
        ports = free(count, host)
        return [taken.getsockname()[1], *ports[1:]] if len(calls) <= times else ports

    monkeypatch.setattr(lifecycle, "_free_ports", unlucky)
    try:
        times = 2  # both plants of the first attempt get the taken port; the second, not
        assert [line.split(":")[0] for line in lifecycle.up(lab, speed=SPEED)] == ["power", "water"]
        lifecycle.down(lab)
        calls.clear()
        times = 100  # always taken: it gives up, saying why
        with pytest.raises(lifecycle.PortTaken, match="Could not start listen"):
            lifecycle.up(lab, speed=SPEED)
        assert len(calls) == 2 * lifecycle.PORT_ATTEMPTS
    finally:
        lifecycle.down(lab)
        taken.close()


def test_a_plant_on_every_address_is_advertised_by_name_and_says_where_it_was_asked(tmp_path):
    # Swarm mode: the plants listen on every address of their container, and each server
    # reaches them by one name on its own network.
    plants = tmp_path / "plants"
    folder = lifecycle.prepare(plants / "water", "water", SPEED, False, host="0.0.0.0",
                               network="lab-plants", prefix="lab", reach="plant")  # fmt: skip
    config = lifecycle.load_config(folder)
    assert lifecycle.data_url(folder) == f"http://plant:{config.data[1]}/"
    lifecycle.start_plants(plants, [folder])
    try:
        water = connect(f"http://127.0.0.1:{config.data[1]}/")
        assert set(water.registers["host"]) == {"plant"}
        assert list(water.registers["port"].unique()) == [p for _, p in config.plcs.values()]
        wait_for(lambda: len(water.traffic("1min")) > 0, timeout=30, what="the HMI's polls")
        # The HMI asked on loopback: the traffic says so, not "0.0.0.0".
        assert set(water.traffic("1min")["dst"]) == {"127.0.0.1"}
    finally:
        os.kill(int((plants / lifecycle.PID).read_text()), signal.SIGTERM)
