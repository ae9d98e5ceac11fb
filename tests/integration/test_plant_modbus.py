"""Scenarios: a live plant's five PLCs answer Modbus/TCP on loopback with the dataset's
register values, second for second; a write is refused and logged unless the plant runs
in red-team mode, where a forced pump shows in the next second's registers."""

import asyncio
import socket

import pandas as pd
import pytest
from pymodbus.client import AsyncModbusTcpClient

from icslab.plant.plc import PLCS, UNIT_IDS, register_value
from icslab.plant.running import RunningPlant
from icslab.plant.stepping import LivePlant
from icslab.sim.catalog import DatasetSpec
from icslab.sim.simulate import simulate
from icslab.sim.tags import BY_NAME

START = pd.Timestamp("2026-03-02T06:00:00Z")
SEED = 5
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS = 1, 2


def free_addresses() -> dict[str, tuple[str, int]]:
    addresses = {}
    for plc in PLCS:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            addresses[plc] = ("127.0.0.1", probe.getsockname()[1])
    return addresses


def run(scenario):
    return asyncio.run(asyncio.wait_for(scenario, timeout=120))


async def plant_and_clients(red_team=False):
    running = RunningPlant(LivePlant(SEED, START), free_addresses(), red_team=red_team)
    await running.start()
    clients = {plc: AsyncModbusTcpClient(host, port=port) for plc, (host, port) in
               running.addresses.items()}  # fmt: skip
    for client in clients.values():
        assert await client.connect()
    return running, clients


async def close(running, clients):
    for client in clients.values():
        client.close()
    await running.stop()


def test_every_plc_serves_the_datasets_registers_second_for_second():
    spec = DatasetSpec(description="x", start=START.to_pydatetime(), hours=24, seed=SEED)
    expected = simulate("x", spec).scada

    async def scenario():
        running, clients = await plant_and_clients()
        try:
            for second in range(30):
                running.tick()
                for plc, tags in PLCS.items():
                    answer = await clients[plc].read_holding_registers(
                        0, count=len(tags), device_id=UNIT_IDS[plc]
                    )
                    assert not answer.isError(), answer
                    assert answer.registers == [
                        register_value(expected.at[second, tag.name], tag) for tag in tags
                    ], (plc, second)  # fmt: skip
        finally:
            await close(running, clients)

    run(scenario())


@pytest.mark.parametrize("red_team", [False, True])
def test_a_write_is_logged_and_takes_effect_only_in_red_team_mode(red_team):
    pump = BY_NAME["P101_CMD"]

    async def scenario():
        running, clients = await plant_and_clients(red_team)
        plc1 = clients["PLC1"]
        try:
            for _ in range(5):
                running.tick()
            assert running.now[1]["P101_CMD"] == 1.0  # the duty river pump runs
            answer = await plc1.write_register(pump.register, 0, device_id=UNIT_IDS["PLC1"])
            running.tick()
            after = await plc1.read_holding_registers(0, count=len(PLCS["PLC1"]),
                                                      device_id=UNIT_IDS["PLC1"])  # fmt: skip
            sensor = await plc1.write_register(BY_NAME["LIT101"].register, 100,
                                               device_id=UNIT_IDS["PLC1"])  # fmt: skip
            return answer, after.registers[pump.register], sensor, list(running.writes)
        finally:
            await close(running, clients)

    answer, pump_after, sensor, writes = run(scenario())

    assert [(w.plc, w.tags, w.values, w.accepted) for w in writes] == [
        ("PLC1", ("P101_CMD",), (0,), red_team),
        ("PLC1", ("LIT101",), (100,), False),
    ]
    assert all(w.peer.startswith("127.0.0.1:") for w in writes)
    assert sensor.isError() and sensor.exception_code == ILLEGAL_ADDRESS  # the PLC's own
    if red_team:
        assert not answer.isError() and pump_after == 0  # forced off
    else:
        assert answer.isError() and answer.exception_code == ILLEGAL_FUNCTION
        assert pump_after == 1  # nothing changed
