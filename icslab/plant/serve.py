"""A lab's live plants, in one process: per team, the stepped simulator behind five
Modbus/TCP PLCs, the HMI polling them into the historian, the lab's attacker, and two
small HTTP APIs.

    python -m icslab.plant.serve DATA_DIR/plants/<team> ...   (reads plant.json in each)

- **data** (on the plant network, for the team's servers): `GET /registers` the
  register map and where each PLC listens; `GET /history[?after=ISO|?last=S]` the
  historian's rows and `GET /traffic[...]` the Modbus transactions the PLCs answered,
  as parquet. What the team could see on the plant anyway: no ground truth.
- **control** (a unix socket in the plant's folder, 0600: the lab's, never on a
  network): `GET /status`, `POST /attack`, `POST /stop-attack`, `POST /reset`.

Every attack launched, cut short or reset, and every write a red team makes, is
written to the plant's ground truth (truth.py) as it happens.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import logging
import os
import signal
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pymodbus.client import AsyncModbusTcpClient
from tornado import httpserver, netutil, web

from icslab.files import write_atomic
from icslab.formats import MODBUS_COLUMNS, MODBUS_SCHEMA
from icslab.lab import PLANT_SERVERS
from icslab.plant.historian import Historian
from icslab.plant.hmi import Hmi
from icslab.plant.plc import UNIT_IDS, Write, register_value
from icslab.plant.running import RunningPlant
from icslab.plant.stepping import LivePlant
from icslab.plant.truth import TrueAttack, write_truth
from icslab.sim.catalog import AttackSpec
from icslab.sim.simulate import WRITE_EVERY_SECONDS, action_of
from icslab.sim.tags import BY_NAME, TAGS
from icslab.singleuser.trim import heap_trimmer

CONFIG, CONTROL_SOCKET = "plant.json", "control.sock"
SCAN_ADDRESSES = range(256)  # a reconnaissance sweep, as the datasets' (simulate.py)
MAX_BODY = 4096
TRIM = heap_trimmer()
# Arrow's own allocator keeps what it freed; the C library's gives it back when trimmed.
pa.set_memory_pool(pa.system_memory_pool())


class PlantConfig(BaseModel):
    """plant.json: written by `icslab plant up`, read by the plant at start."""

    model_config = ConfigDict(extra="forbid")
    team: str
    seed: int = Field(ge=0)
    start: str  # ISO time the plant's clock starts at
    speed: float = Field(gt=0, le=1000)
    red_team: bool = False
    plcs: dict[str, tuple[str, int]]  # where each PLC listens
    advertised: dict[str, tuple[str, int]]  # where the team's servers reach each PLC
    data: tuple[str, int]  # the data API's address
    attacker: str  # the lab attacker's source address (its writes are the attack's)
    # Docker mode: the team's plant network; swarm mode: the plants' own overlay (set:
    # writes are named from servers/<ip>).
    network: str | None = None
    # Swarm mode: the name each server reaches the plants by (on its own network), where
    # they listen on every address of their container.
    reach: str | None = None
    prefix: str | None = None

    @property
    def ports(self) -> tuple[int, ...]:
        """Every port the plant listens on: its PLCs' and its data API's."""
        return (*(port for _, port in self.plcs.values()), self.data[1])


@dataclass
class Plant:
    """The process's state, shared by the tick loop and both APIs."""

    config: PlantConfig
    folder: Path
    running: RunningPlant
    historian: Historian
    truth: list[TrueAttack]
    attackers: list[asyncio.Task]

    @property
    def now(self) -> pd.Timestamp:
        return self.running.now[0] if self.running.now else self.running.plant.start

    def plant_seconds(self, wall_seconds: float) -> float:
        return wall_seconds * self.config.speed

    def record(self, attack: TrueAttack) -> None:
        self.truth.append(attack)
        write_truth(self.folder, self.truth)

    def cut_truth(self) -> None:
        """Attacks under way end now."""
        now = self.now + pd.Timedelta(seconds=1)
        self.truth = [
            a if a.end <= now else TrueAttack(a.attack_id, a.kind, a.targets, a.start,
                                               max(a.start, now), a.by, a.started_at, a.speed)
            for a in self.truth
        ]  # fmt: skip
        write_truth(self.folder, self.truth)

    def next_id(self) -> str:
        return f"L{len(self.truth) + 1:02d}"


def writer(plant: Plant, peer: str) -> str:
    """Who sent a write: in docker mode the participant whose server has that address
    on the plant network (as the lab recorded it: lab.record_plant_server); in local
    mode every server shares loopback."""
    host = peer.rpartition(":")[0]
    if plant.config.network:
        try:
            ipaddress.IPv4Address(host)
            user = (plant.folder / PLANT_SERVERS / host).read_text().strip()
        except (ValueError, OSError):
            return f"an unknown host {host}"
        return f"{user} ({host})"
    return f"{peer} (local mode: who cannot be told)"


def red_team_write(plant: Plant, write: Write) -> None:
    start = write.time + pd.Timedelta(seconds=1)
    plant.record(
        TrueAttack(
            plant.next_id(),
            "modbus_injection",
            write.tags,
            start,
            start + pd.Timedelta(seconds=2),
            f"red team: {writer(plant, write.peer)}",
            pd.Timestamp.now(tz="UTC"),
            plant.config.speed,
        )
    )


async def tick_loop(plant: Plant, hmi: Hmi) -> None:
    """A plant second every 1/speed s of the loop's clock; the HMI polls after each."""
    loop = asyncio.get_running_loop()
    period, next_at = 1.0 / plant.config.speed, loop.time()
    while True:
        plant.running.tick()
        plant.historian.append(plant.now, await hmi.poll())
        next_at += period
        await asyncio.sleep(max(0.0, next_at - loop.time()))


async def inject(plant: Plant, tag: str, value: float, until: pd.Timestamp) -> None:
    """The lab's attacker on the plant network: writes `tag` every few plant seconds, so
    the PLC takes the forged value, as the datasets' injector does."""
    meta = BY_NAME[tag]
    host, port = plant.config.plcs[meta.plc]
    client = AsyncModbusTcpClient(host, port=port, source_address=(plant.config.attacker, 0))
    try:
        await client.connect()
        while plant.now < until:
            await client.write_register(meta.register, register_value(value, meta),
                                        device_id=UNIT_IDS[meta.plc])  # fmt: skip
            await asyncio.sleep(WRITE_EVERY_SECONDS / plant.config.speed)
    finally:
        client.close()


async def scan(plant: Plant, plc: str, until: pd.Timestamp, seconds: float) -> None:
    """Reconnaissance: the attacker reads every address 0-255 of `plc` in turn."""
    host, port = plant.config.plcs[plc]
    client = AsyncModbusTcpClient(host, port=port, source_address=(plant.config.attacker, 0))
    pause = seconds / len(SCAN_ADDRESSES) / plant.config.speed
    try:
        await client.connect()
        for address in SCAN_ADDRESSES:
            if plant.now >= until:
                break
            await client.read_holding_registers(address, count=1, device_id=UNIT_IDS[plc])
            await asyncio.sleep(pause)
    finally:
        client.close()


def launch(plant: Plant, body: dict) -> TrueAttack:
    """An attack from the control API's JSON: {kind, target, value, lag_minutes, conceal,
    actions, seconds}, checked as a catalog attack is."""
    seconds = body.pop("seconds", None)
    if not isinstance(seconds, int) or not 1 <= seconds <= 7 * 86400:
        raise ValueError("seconds: how long the attack lasts, 1 s to 7 days")
    spec = AttackSpec(at="0d00:00", minutes=seconds / 60, **body)
    actions = [action_of(a) for a in spec.actions] or [action_of(spec)]
    start = plant.now + pd.Timedelta(seconds=1)
    until = start + pd.Timedelta(seconds=seconds)
    for action in actions:
        if action.kind == "modbus_injection":
            task = inject(plant, action.target, action.value, until)
        elif action.kind == "reconnaissance":
            task = scan(plant, action.target, until, seconds)
        else:
            plant.running.plant.launch(action, seconds)
            continue
        plant.attackers.append(asyncio.ensure_future(task))
    targets = tuple(t for a in actions for t in (a.target, *a.conceal) if t)
    attack = TrueAttack(plant.next_id(), spec.kind, targets, start, until, "instructor",
                        pd.Timestamp.now(tz="UTC"), plant.config.speed)  # fmt: skip
    plant.record(attack)
    return attack


def stop_attacks(plant: Plant) -> None:
    for task in plant.attackers:
        task.cancel()
    plant.attackers.clear()
    plant.running.plant.stop()
    plant.cut_truth()


def reset(plant: Plant) -> None:
    """Back to normal operation from the next second: a plant as it starts, its clock
    going on; the historian and the ground truth are kept."""
    stop_attacks(plant)
    plant.running.plant = LivePlant(plant.config.seed, plant.now + pd.Timedelta(seconds=1))


class Handler(web.RequestHandler):
    @property
    def plant(self) -> Plant:
        return self.settings["plant"]

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        reason = kwargs.get("exc_info", (None, None))[1]
        message = reason.log_message if isinstance(reason, web.HTTPError) else None
        self.finish(f"{message or self._reason}\n")


class RegistersHandler(Handler):
    def get(self) -> None:
        advertised = self.plant.config.advertised
        self.finish({"tags": [
            {"tag": t.name, "plc": t.plc, "unit_id": UNIT_IDS[t.plc], "register": t.register,
             "scale": t.scale, "unit": t.unit, "kind": t.kind, "description": t.description,
             "host": advertised[t.plc][0], "port": advertised[t.plc][1]}
            for t in TAGS
        ]})  # fmt: skip


class HistoryHandler(Handler):
    """?after=ISO: rows after that time; ?last=SECONDS: the last so many seconds."""

    def since(self) -> pd.Timestamp | None:
        after, last = self.get_argument("after", None), self.get_argument("last", None)
        if after and last:
            raise web.HTTPError(400, "give after or last, not both")
        try:
            since = pd.Timestamp(after) if after else None
            seconds = float(last) if last else None
        except ValueError:
            raise web.HTTPError(400, "after: an ISO time (…Z); last: seconds") from None
        if since is not None and since.tzinfo is None:
            raise web.HTTPError(400, "after: give the time in UTC (…Z)")
        if seconds is not None:
            since = self.plant.now - pd.Timedelta(seconds=seconds)
        return since

    def parquet(self, table: pa.Table) -> None:
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        self.set_header("Content-Type", "application/vnd.apache.parquet")
        self.finish(buffer.getvalue())
        TRIM()  # what pandas and Arrow freed goes back to the host, not kept per plant

    def get(self) -> None:
        self.parquet(pa.Table.from_pandas(self.plant.historian.frame(self.since())))


class TrafficHandler(HistoryHandler):
    """The Modbus transactions the PLCs answered, as the datasets' modbus.parquet."""

    def get(self) -> None:
        since = self.since()
        after = since.value if since is not None else -1
        rows = [row for row in self.plant.running.traffic if row[0] > after]
        columns: dict[str, list] = {name: [] for name in MODBUS_COLUMNS}
        for row in rows:
            for name, value in zip(MODBUS_COLUMNS, row, strict=True):
                columns[name].append(list(value) if isinstance(value, array) else value)
        self.parquet(pa.Table.from_pydict(columns, schema=MODBUS_SCHEMA))


class StatusHandler(Handler):
    def get(self) -> None:
        plant, now = self.plant, self.plant.now
        self.finish({
            "team": plant.config.team, "time": now.isoformat(), "speed": plant.config.speed,
            "red_team": plant.config.red_team, "rows": len(plant.historian.frame()),
            "attacks": [{"attack_id": a.attack_id, "kind": a.kind, "targets": list(a.targets),
                         "start": a.start.isoformat(), "end": a.end.isoformat(), "by": a.by}
                        for a in plant.truth if a.end > now],
            "writes": len(plant.running.writes),
        })  # fmt: skip


class AttackHandler(Handler):
    def post(self) -> None:
        try:
            body = json.loads(self.request.body)
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            attack = launch(self.plant, body)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'attack'}: {e['msg']}" for e in error.errors()
            )
            raise web.HTTPError(400, problems) from None
        except (ValueError, TypeError) as error:
            raise web.HTTPError(400, str(error)) from None
        self.finish({"attack_id": attack.attack_id, "start": attack.start.isoformat(),
                     "end": attack.end.isoformat()})  # fmt: skip


class StopHandler(Handler):
    def post(self) -> None:
        stop_attacks(self.plant)
        self.set_status(204)


class ResetHandler(Handler):
    def post(self) -> None:
        reset(self.plant)
        self.set_status(204)


def load_config(folder: Path) -> PlantConfig:
    return PlantConfig.model_validate_json((folder / CONFIG).read_text())


def write_config(folder: Path, config: PlantConfig) -> None:
    write_atomic(folder / CONFIG, config.model_dump_json(indent=1).encode(), 0o600)


async def start_plant(folder: Path) -> tuple[Plant, Hmi]:
    """One team's plant up: its PLCs, HMI, data API and control socket."""
    config = load_config(folder)
    plant = Plant(config, folder, None, Historian(), [], [])  # type: ignore[arg-type]
    plant.running = RunningPlant(
        LivePlant(config.seed, pd.Timestamp(config.start)), config.plcs,
        red_team=config.red_team, speed=config.speed, attacker=config.attacker,
        on_red_team_write=lambda write: red_team_write(plant, write),
    )  # fmt: skip
    write_truth(folder, [])
    await plant.running.start()
    hmi = Hmi(config.plcs)
    await hmi.connect()
    data = web.Application(
        [
            (r"/registers", RegistersHandler),
            (r"/history", HistoryHandler),
            (r"/traffic", TrafficHandler),
        ],
        plant=plant,
    )
    data.listen(config.data[1], config.data[0], max_body_size=MAX_BODY)
    control = web.Application(
        [(r"/status", StatusHandler), (r"/attack", AttackHandler),
         (r"/stop-attack", StopHandler), (r"/reset", ResetHandler)], plant=plant,
    )  # fmt: skip
    socket_path = folder / CONTROL_SOCKET
    server = httpserver.HTTPServer(control, max_body_size=MAX_BODY)
    server.add_socket(netutil.bind_unix_socket(str(socket_path), mode=0o600))
    logging.info("team %s's plant: data on %s:%d, control on %s", config.team, *config.data,
                 socket_path)  # fmt: skip
    return plant, hmi


async def serve(folders: list[Path]) -> None:
    """Every team's plant in this one process, each with its own ports, socket, clock and
    state: one Python, numpy and pandas for all (138 MiB of a plant's 176 when each had
    its own process, bench/plant.py)."""
    started = [await start_plant(folder) for folder in folders]
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    ticking = [asyncio.ensure_future(tick_loop(plant, hmi)) for plant, hmi in started]
    waiting = asyncio.ensure_future(stopping.wait())
    done, _ = await asyncio.wait([*ticking, waiting], return_when=asyncio.FIRST_COMPLETED)
    for task in [*ticking, waiting]:
        task.cancel()
    for plant, hmi in started:
        for task in plant.attackers:
            task.cancel()
        hmi.close()
        await plant.running.stop()
    for task in done:
        if task is not waiting and task.exception():
            raise task.exception()  # type: ignore[misc]


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        sys.exit("usage: python -m icslab.plant.serve DATA_DIR/plants/<team> [...]")
    logging.basicConfig(level=logging.INFO, format="[icslab-plant] %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    os.umask(0o077)
    asyncio.run(serve([Path(arg) for arg in args]))


if __name__ == "__main__":
    main()
