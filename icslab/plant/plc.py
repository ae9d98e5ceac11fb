"""The plant's five PLCs on the wire: each a Modbus/TCP server (pymodbus) holding its
tags on consecutive holding registers from 0, as the datacard documents
(icslab.sim.tags), refreshed from the live plant every simulated second.

Writes are what a red team (or an attacker) does to a PLC. Each one is logged with
where it came from. Without red-team mode a write is refused: a Modbus exception,
"illegal function", and nothing changes. In red-team mode a write to an output or to
FSP301 forces it for a few seconds, as an attacker's injector does (the PLC logic
takes it back unless writes go on); a write to another setpoint keeps the new value; a
write to a sensor or a status is refused ("illegal address"): those are the PLC's own.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from icslab.sim.records import Network, Tag
from icslab.sim.tags import TAGS
from icslab.sim.waterworks import FORCEABLE

READS = (3, 4)  # read holding / input registers
WRITES = (6, 16)  # write one register / several
HOLD_SECONDS = 2  # a forced output lasts this long after a write, as offline's injector
PLCS: dict[str, list[Tag]] = {}
for _tag in TAGS:
    PLCS.setdefault(_tag.plc, []).append(_tag)
UNIT_IDS = Network().unit_ids

# The peer of the request being handled: pymodbus hands its datastore no connection.
_PEER: contextvars.ContextVar[str] = contextvars.ContextVar("peer", default="?")


@dataclass(frozen=True)
class Write:
    """One write request as a PLC received it."""

    time: pd.Timestamp  # the plant's time
    peer: str  # host:port it came from
    plc: str
    function_code: int
    address: int
    values: tuple[int, ...]
    accepted: bool
    tags: tuple[str, ...]  # the tags at those addresses


# Told of each write; returns whether the plant took it (red team) or not.
OnWrite = Callable[[str, int, int, list[int], str], bool]


def register_value(value: float, tag: Tag) -> int:
    """An engineering value as its 16-bit register holds it (two's complement)."""
    return max(-32768, min(32767, round(value * tag.scale))) & 0xFFFF


def engineering_value(register: int, tag: Tag) -> float:
    signed = register - 0x10000 if register & 0x8000 else register
    return signed / tag.scale


def writable(tag: Tag) -> bool:
    return tag.name in FORCEABLE or tag.kind == "setpoint"


# One Modbus/TCP transaction as the PLC saw it, in formats.MODBUS_COLUMNS order (the
# datasets' modbus.parquet): timestamp (ns, UTC), src, dst, unit_id, function_code,
# address, count, values, exception_code, response_ms. Kept small: plants keep many.
Transaction = tuple[int, str, str, int, int, int, int, array, int, float]


class _Handler(ServerRequestHandler):
    """pymodbus's handler of one connection, noting who asks and what was answered."""

    async def handle_request(self):
        peer = self.transport.get_extra_info("peername") if self.transport else None
        # Where it was asked: a PLC listening on every address (swarm mode) has several.
        local = self.transport.get_extra_info("sockname") if self.transport else None
        _PEER.set(f"{peer[0]}:{peer[1]}" if peer else "?")
        dst = local[0] if local else self.server.address[0]
        self._asked = (time.monotonic(), self.server.clock(), _PEER.get().rpartition(":")[0], dst)
        await super().handle_request()

    def server_send(self, pdu, addr):
        server: PlcServer = self.server
        if pdu is not None and server.on_transaction is not None:
            started, at, src, dst = getattr(
                self, "_asked", (time.monotonic(), server.clock(), "?", server.address[0])
            )
            request = self.last_pdu
            exception = getattr(pdu, "exception_code", 0) if pdu.isError() else 0
            written = list(getattr(request, "registers", None) or [])
            read = [] if exception or written else list(getattr(pdu, "registers", None) or [])
            server.on_transaction((
                at.value, sys.intern(src), sys.intern(dst), getattr(request, "dev_id", 0) or 0,
                pdu.function_code & 0x7F, getattr(request, "address", 0) or 0,
                getattr(request, "count", 0) or len(written), array("i", written or read),
                int(exception), round((time.monotonic() - started) * 1000, 3),
            ))  # fmt: skip
        super().server_send(pdu, addr)


class PlcServer(ModbusTcpServer):
    """One PLC: its holding registers, refreshed by `show`; writes go to `on_write`."""

    def __init__(
        self,
        plc: str,
        address: tuple[str, int],
        on_write: OnWrite,
        clock: Callable[[], pd.Timestamp],
        on_transaction: Callable[[Transaction], None] | None = None,
    ):
        self.plc, self.tags, self.address = plc, PLCS[plc], address
        self.registers: list[int] = [0] * len(self.tags)
        self._on_write = on_write
        self.clock, self.on_transaction = clock, on_transaction
        device = SimDevice(
            id=UNIT_IDS[plc],
            simdata=[SimData(0, count=len(self.tags), values=0, datatype=DataType.REGISTERS)],
            action=functools.partial(PlcServer._access, self),
        )
        super().__init__(device, address=address)

    def callback_new_connection(self):
        return _Handler(self, self.trace_packet, self.trace_pdu, self.trace_connect)

    def show(self, values: dict[str, float]) -> None:
        """The plant's values of this second into the registers clients read."""
        self.registers = [register_value(values[tag.name], tag) for tag in self.tags]

    async def _access(
        self, function_code, start_address, address, count, registers, values
    ) -> ExcCodes | None:
        registers[:] = self.registers  # what the plant holds now
        if values is None:
            return None
        if function_code not in WRITES:
            return ExcCodes.ILLEGAL_FUNCTION
        offset = address - start_address
        if not all(writable(tag) for tag in self.tags[offset : offset + count]):
            self._on_write(self.plc, function_code, address, list(values), _PEER.get())
            return ExcCodes.ILLEGAL_ADDRESS
        if not self._on_write(self.plc, function_code, address, list(values), _PEER.get()):
            return ExcCodes.ILLEGAL_FUNCTION
        return None


async def start_plcs(
    addresses: dict[str, tuple[str, int]],
    on_write: OnWrite,
    clock: Callable[[], pd.Timestamp],
    on_transaction: Callable[[Transaction], None] | None = None,
) -> dict[str, PlcServer]:
    """Every PLC listening at its address; stop them with `stop_plcs`."""
    servers = {
        plc: PlcServer(plc, address, on_write, clock, on_transaction)
        for plc, address in addresses.items()
    }
    for server in servers.values():
        await server.serve_forever(background=True)
    return servers


async def stop_plcs(servers: dict[str, PlcServer]) -> None:
    await asyncio.gather(*(server.shutdown() for server in servers.values()))
