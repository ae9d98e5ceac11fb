"""The plant's HMI: polls every PLC's holding registers over Modbus/TCP (pymodbus), as
the recorded data's HMI does, and hands each poll to the historian."""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient

from icslab.plant.plc import PLCS, UNIT_IDS, engineering_value


class PollFailed(Exception):
    pass


class Hmi:
    def __init__(self, addresses: dict[str, tuple[str, int]]):
        self.clients = {
            plc: AsyncModbusTcpClient(host, port=port, timeout=2, retries=1)
            for plc, (host, port) in addresses.items()
        }

    async def connect(self) -> None:
        for plc, client in self.clients.items():
            if not await client.connect():
                raise PollFailed(f"the HMI cannot reach {plc}")

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    async def poll(self) -> dict[str, float]:
        """Every tag's value as its PLC's registers hold it now."""
        answers = await asyncio.gather(
            *(
                self.clients[plc].read_holding_registers(
                    0, count=len(tags), device_id=UNIT_IDS[plc]
                )
                for plc, tags in PLCS.items()
            )
        )
        values: dict[str, float] = {}
        for (plc, tags), answer in zip(PLCS.items(), answers, strict=True):
            if answer.isError():
                raise PollFailed(f"{plc} answered the HMI's poll with {answer}")
            for tag, register in zip(tags, answer.registers, strict=True):
                values[tag.name] = engineering_value(register, tag)
        return values
