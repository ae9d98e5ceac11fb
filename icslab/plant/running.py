"""A live plant on the wire: the stepped simulator (stepping.py) behind its five PLCs'
Modbus/TCP servers (plc.py); each `tick()` is one simulated second.

    running = RunningPlant(LivePlant(seed, start), addresses, red_team=False, speed=1.0)
    await running.start(); running.tick(); ...; await running.stop()
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import pandas as pd

from icslab.plant.plc import (
    HOLD_SECONDS,
    PLCS,
    PlcServer,
    Transaction,
    Write,
    engineering_value,
    start_plcs,
    stop_plcs,
    writable,
)
from icslab.plant.stepping import LivePlant
from icslab.sim.attacks import Action
from icslab.sim.waterworks import FORCEABLE

WEEK = 7 * 86_400  # a red team's setpoint stays until reset; a week is "until reset"
KEPT_WRITES = 10_000  # the write log in memory; each write is also told to `on_write`
KEPT_TRANSACTIONS = 20_000  # an hour of the HMI's polls (5 a second) and what else came


class RunningPlant:
    def __init__(
        self,
        plant: LivePlant,
        addresses: dict[str, tuple[str, int]],
        *,
        red_team: bool = False,
        speed: float = 1.0,
        attacker: str | None = None,
        on_red_team_write: Callable[[Write], None] | None = None,
    ):
        self.plant, self.addresses = plant, addresses
        self.red_team, self.speed = red_team, speed
        # Every Modbus transaction the PLCs answered, as the datasets' modbus.parquet rows.
        self.traffic: deque[Transaction] = deque(maxlen=KEPT_TRANSACTIONS)
        self._ticked = time.monotonic()
        # Writes from this host are the lab's own attacker's (a launched modbus_injection).
        self.attacker = attacker
        self._on_red_team_write = on_red_team_write
        self.writes: deque[Write] = deque(maxlen=KEPT_WRITES)
        self.now: tuple | None = None  # (time, values) of the second shown
        self.servers: dict[str, PlcServer] = {}

    async def start(self) -> None:
        self.servers = await start_plcs(
            self.addresses, self._write, self.clock, self.traffic.append
        )

    def clock(self) -> pd.Timestamp:
        """The plant's time now, within its current second."""
        if self.now is None:
            return self.plant.start
        into = min(0.999, (time.monotonic() - self._ticked) * self.speed)
        return self.now[0] + pd.Timedelta(seconds=into)

    async def stop(self) -> None:
        await stop_plcs(self.servers)

    def tick(self) -> None:
        """One simulated second: step the plant and show it in every PLC's registers."""
        self.now, self._ticked = self.plant.step(), time.monotonic()
        for server in self.servers.values():
            server.show(self.now[1])

    def _write(
        self, plc: str, function_code: int, address: int, values: list[int], peer: str
    ) -> bool:
        tags = PLCS[plc][address : address + len(values)]
        attacker = self.attacker is not None and peer.rpartition(":")[0] == self.attacker
        allowed = (self.red_team or attacker) and len(tags) == len(values)
        allowed = allowed and all(map(writable, tags))
        time = self.now[0] if self.now else self.plant.start
        write = Write(
            time,
            peer,
            plc,
            function_code,
            address,
            tuple(values),
            allowed,
            tuple(t.name for t in tags),
        )
        self.writes.append(write)
        if allowed and not attacker and self._on_red_team_write:
            self._on_red_team_write(write)
        if allowed:
            for tag, register in zip(tags, values, strict=True):
                value = engineering_value(register, tag)
                if tag.name in FORCEABLE:  # an output (or FSP301): held while writes go on
                    self.plant.launch(Action("actuator_force", tag.name, value), HOLD_SECONDS)
                else:
                    self.plant.launch(Action("setpoint_tamper", tag.name, value), WEEK)
        return allowed
