"""Modbus/TCP transaction log (modbus.parquet): HMI polling, engineering writes, attacks.

One row per request/response transaction, columns `formats.MODBUS_COLUMNS`. `values` is
a pyarrow list<int32> column; pandas cannot read that back from parquet by itself
(pandas#57411), so load the file with `formats.read_traffic`.

The attack module builds its rows with `scan_traffic` and `write_traffic` (or
`traffic_frame`), so every source of traffic shares the same dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from icslab.formats import MODBUS_COLUMNS, MODBUS_SCHEMA, VALUES_TYPE, traffic_to_pandas
from icslab.sim.records import Simulation, Tag

READ_HOLDING, READ_DEVICE_ID = 3, 43
WRITE_COIL, WRITE_REGISTER, WRITE_COILS, WRITE_REGISTERS = 5, 6, 15, 16
ILLEGAL_DATA_ADDRESS = 2
MAX_READ_REGISTERS = 125  # Modbus limit for one FC 3 request
SECOND = 1_000_000_000  # ns


def to_registers(values, scale: float) -> np.ndarray:
    """Engineering values -> int16 register contents (int32 array); NaN reads as 0."""
    scaled = np.nan_to_num(np.asarray(values, dtype=np.float64) * scale, nan=0.0)
    return np.clip(np.round(scaled), -32768, 32767).astype(np.int32)


def export_modbus(
    sim: Simulation, rng: np.random.Generator, poll_seconds: float = 2.0
) -> pd.DataFrame:
    """The full transaction log: HMI polls, engineering writes and `sim.attack_traffic`,
    sorted by timestamp (stable: polls, then writes, then attacks on equal times)."""
    times = _to_ns(sim.scada["timestamp"])
    parts = [*_hmi_polls(sim, times, rng, poll_seconds), *_engineering_writes(sim, times, rng)]
    parts.append(_rows_of(sim.attack_traffic))
    return _frame(_merge(parts))


def empty_traffic() -> pd.DataFrame:
    return traffic_to_pandas(MODBUS_SCHEMA.empty_table())


def traffic_frame(
    timestamp,
    src: str | Sequence[str],
    dst: str | Sequence[str],
    unit_id,
    function_code,
    address,
    count,
    values: Sequence[Sequence[int]] | npt.NDArray[np.integer],
    exception_code=0,
    response_ms=None,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Rows in MODBUS_COLUMNS form from per-row sequences or scalars (broadcast).

    `values` holds one list of register ints per row (or a 2-D array, a row each);
    response_ms defaults to the usual PLC response-time model, which then needs `rng`.
    """
    stamps = _to_ns(timestamp)
    lengths = [len(v) for v in values]
    flat = np.concatenate([np.asarray(v, dtype=np.int32) for v in values] + [np.zeros(0)])
    if response_ms is None:
        response_ms = _response_ms(rng, len(stamps), median_ms=5.0)
    return _frame(
        _rows(
            stamps,
            flat,
            lengths,
            src=src,
            dst=dst,
            unit_id=unit_id,
            function_code=function_code,
            address=address,
            count=count,
            exception_code=exception_code,
            response_ms=response_ms,
        )
    )


def scan_traffic(
    start: pd.Timestamp,
    src: str,
    dst: str,
    unit_id: int,
    addresses: Sequence[int] | npt.NDArray[np.integer],
    rng: np.random.Generator,
    *,
    registers: Mapping[int, int],
    count: int = 1,
    interval_s: float = 0.05,
    identify: bool = True,
) -> pd.DataFrame:
    """Reconnaissance: an optional FC 43 device identification, then FC 3 reads of
    `count` registers at each address in `addresses`, about `interval_s` apart.

    `registers` maps the PLC's mapped register addresses to the values they hold
    (`to_registers` of the scada values); a read touching any unmapped register gets
    exception 2 (illegal data address) and no values. FC 43 rows (basic device
    identification) have address 0 (first object id), count 3 and no values: the
    objects are strings.
    """
    first = np.asarray(addresses, dtype=np.int64)
    n = len(first) + int(identify)
    gaps = interval_s * rng.uniform(0.8, 1.2, n)
    stamps = _to_ns([start])[0] + np.round(np.cumsum(gaps) * SECOND).astype(np.int64)

    mapped = np.array(sorted(registers), dtype=np.int64)
    held = np.array([registers[a] for a in mapped] + [0], dtype=np.int32)  # [0]: no map
    wanted = first[:, None] + np.arange(count)
    pos = np.searchsorted(mapped, wanted)
    ok = (mapped[np.minimum(pos, len(mapped) - 1)] == wanted).all(axis=1) & (len(mapped) > 0)

    def identify_then(value, reads):
        return np.concatenate([[value] * identify, reads])

    return _frame(
        _rows(
            stamps,
            held[pos[ok]].ravel(),
            identify_then(0, np.where(ok, count, 0)),
            src=src,
            dst=dst,
            unit_id=unit_id,
            function_code=identify_then(READ_DEVICE_ID, np.full(len(first), READ_HOLDING)),
            address=identify_then(0, first),
            count=identify_then(3, np.full(len(first), count)),
            exception_code=identify_then(0, np.where(ok, 0, ILLEGAL_DATA_ADDRESS)),
            response_ms=_response_ms(rng, n, median_ms=4.0),
        )
    )


def write_traffic(
    times,
    src: str,
    dst: str,
    unit_id: int,
    function_code: int,
    address: int | Sequence[int],
    values,
    rng: np.random.Generator,
    *,
    exception_code: int = 0,
) -> pd.DataFrame:
    """Injection: one write request per time in `times`.

    `values` has shape (len(times),) for FC 5/6 (one coil 0/1 or one register each) or
    (len(times), k) for FC 15/16 (k coils or registers starting at `address`); register
    contents are raw ints, see `to_registers`.
    """
    stamps = _to_ns(times)
    written = np.asarray(values, dtype=np.int32).reshape(len(stamps), -1)
    k = written.shape[1]
    if function_code in (WRITE_COIL, WRITE_REGISTER) and k != 1:
        raise ValueError(f"function code {function_code} writes one value, got {k}")
    response_ms = _response_ms(rng, len(stamps), median_ms=6.0)
    return traffic_frame(
        times, src, dst, unit_id, function_code, address, k, written, exception_code, response_ms
    )


def _hmi_polls(sim: Simulation, times: np.ndarray, rng, poll_seconds: float) -> list[dict]:
    """FC 3 reads of each PLC's register block, staggered so PLCs are polled in turn."""
    network = sim.network
    plcs = [plc for plc in network.plcs if any(t.plc == plc for t in sim.tags)]
    period = round(poll_seconds * SECOND)
    stagger = period // len(plcs)
    max_jitter = min(0.02 * SECOND, stagger / 2)  # never reorders the PLCs within a poll
    end = times[-1] + (times[-1] - times[-2])  # the last sample holds for one interval
    parts = []
    for i, plc in enumerate(plcs):
        tags = [t for t in sim.tags if t.plc == plc]
        address, count = _register_block(plc, tags)
        polls = np.arange(times[0] + i * stagger, end, period, dtype=np.int64)
        polls += rng.uniform(0, max_jitter, len(polls)).astype(np.int64)
        rows = np.searchsorted(times, polls, side="right") - 1  # last sample at the poll
        registers = np.zeros((len(polls), count), dtype=np.int32)
        for tag in tags:
            column = sim.scada[tag.name].to_numpy(dtype=np.float64)
            registers[:, tag.register - address] = to_registers(column[rows], tag.scale)
        median_ms = rng.uniform(3.0, 8.0)  # each PLC model answers at its own pace
        parts.append(
            _rows(
                polls,
                registers.ravel(),
                count,
                src=network.hmi,
                dst=network.plcs[plc],
                unit_id=network.unit_ids[plc],
                function_code=READ_HOLDING,
                address=address,
                count=count,
                response_ms=_response_ms(rng, len(polls), median_ms),
            )
        )
    return parts


def _register_block(plc: str, tags: list[Tag]) -> tuple[int, int]:
    registers = [t.register for t in tags]
    if len(set(registers)) != len(registers):
        raise ValueError(f"{plc}: two tags share a register: {sorted(registers)}")
    count = max(registers) - min(registers) + 1
    if count > MAX_READ_REGISTERS:
        raise ValueError(f"{plc}: registers span {count} > {MAX_READ_REGISTERS}, one FC 3")
    return min(registers), count


def _engineering_writes(sim: Simulation, times: np.ndarray, rng) -> list[dict]:
    """An FC 6 from the engineering workstation for every setpoint change the attacks
    do not explain, landing between the two samples that show the change."""
    network = sim.network
    parts = []
    for tag in (t for t in sim.tags if t.kind == "setpoint"):
        column = sim.scada[tag.name].to_numpy(dtype=np.float64)
        changed = np.flatnonzero(column[1:] != column[:-1]) + 1
        changed = changed[~np.isnan(column[changed]) & ~np.isnan(column[changed - 1])]
        changed = changed[~_attacked(sim, tag, times[changed])]
        gap = times[changed] - times[changed - 1]
        stamps = times[changed] - (gap * rng.uniform(0.05, 0.95, len(changed))).astype(np.int64)
        parts.append(
            _rows(
                stamps,
                to_registers(column[changed], tag.scale),
                1,
                src=network.engineering,
                dst=network.plcs[tag.plc],
                unit_id=network.unit_ids[tag.plc],
                function_code=WRITE_REGISTER,
                address=tag.register,
                count=1,
                response_ms=_response_ms(rng, len(changed), median_ms=6.0),
            )
        )
    return parts


def _attacked(sim: Simulation, tag: Tag, stamps: np.ndarray) -> np.ndarray:
    """Which of `stamps` fall inside an attack on this tag or on its PLC."""
    hit = np.zeros(len(stamps), dtype=bool)
    for attack in sim.attacks:
        if tag.name in attack.targets or tag.plc in attack.targets:
            start, end = _to_ns([attack.start, attack.end])
            hit |= (stamps >= start) & (stamps <= end)
    return hit


def _response_ms(rng, n: int, median_ms: float) -> np.ndarray:
    """Log-normal around the median (mostly 2-15 ms), 0.2 % slow ones up to ~0.3 s."""
    ms = rng.lognormal(np.log(median_ms), 0.3, n)
    slow = rng.random(n) < 0.002
    ms[slow] *= rng.uniform(5.0, 40.0, int(slow.sum()))
    return np.round(ms, 3)


# Rows are built and merged as plain arrays ("rows" dicts: the MODBUS_COLUMNS with src and
# dst as categoricals and `values` as one flat register array plus per-row lengths), and
# become a DataFrame once, at the end: sorting a million-row list column is much faster
# in numpy than in pyarrow or pandas.
INTS = ("unit_id", "function_code", "address", "count", "exception_code")
NUMERIC = ("timestamp", *INTS, "response_ms", "lengths")


def _rows(timestamp, flat, lengths, *, src, dst, response_ms, exception_code=0, **ints) -> dict:
    """Rows from per-row arrays or scalars (broadcast); timestamps in ns."""
    n = len(timestamp)
    ints["exception_code"] = exception_code
    rows = {name: np.broadcast_to(np.asarray(ints[name], np.int64), n) for name in INTS}
    rows["lengths"] = np.broadcast_to(np.asarray(lengths, np.int64), n)
    rows["response_ms"] = np.broadcast_to(np.asarray(response_ms, np.float64), n)
    rows["timestamp"] = (np.asarray(timestamp, np.int64) + 500) // 1000 * 1000  # pcap: us
    rows["src"], rows["dst"] = _hosts(src, n), _hosts(dst, n)
    rows["flat"] = np.asarray(flat, dtype=np.int32)
    return rows


def _rows_of(frame: pd.DataFrame) -> dict:
    """Rows from a frame in MODBUS_COLUMNS form (the attack module's traffic)."""
    values = pa.array(frame["values"], type=VALUES_TYPE)
    if isinstance(values, pa.ChunkedArray):  # e.g. after pd.concat of ArrowDtype columns
        values = values.combine_chunks()
    rows = {name: frame[name].to_numpy(dtype=np.int64) for name in INTS}
    rows["timestamp"] = _to_ns(frame["timestamp"])
    rows["response_ms"] = frame["response_ms"].to_numpy(dtype=np.float64)
    rows["lengths"] = values.value_lengths().fill_null(0).to_numpy().astype(np.int64)
    rows["src"], rows["dst"] = pd.Categorical(frame["src"]), pd.Categorical(frame["dst"])
    rows["flat"] = values.flatten().to_numpy().astype(np.int32)
    return rows


def _merge(parts: list[dict]) -> dict:
    """All parts as one set of rows, stably sorted by timestamp."""
    order = np.argsort(np.concatenate([p["timestamp"] for p in parts]), kind="stable")
    merged = {name: np.concatenate([p[name] for p in parts])[order] for name in NUMERIC}
    for name in ("src", "dst"):
        merged[name] = union_categoricals([p[name] for p in parts]).take(order)
    # Each row's registers move with it: source position = destination position + shift.
    lengths = np.concatenate([p["lengths"] for p in parts])
    starts = np.cumsum(lengths) - lengths
    new_starts = np.cumsum(merged["lengths"]) - merged["lengths"]
    index = np.int32 if lengths.sum() < 2**31 else np.int64  # halves a 20M-entry index
    source = np.repeat((starts[order] - new_starts).astype(index), merged["lengths"])
    source += np.arange(len(source), dtype=index)
    merged["flat"] = np.concatenate([p["flat"] for p in parts])[source]
    return merged


def _frame(rows: dict) -> pd.DataFrame:
    offsets = np.concatenate([[0], np.cumsum(rows["lengths"])]).astype(np.int32)
    columns = {
        "timestamp": pa.array(rows["timestamp"]).cast(MODBUS_SCHEMA.field("timestamp").type),
        "src": pa.array(rows["src"]).cast(pa.string()),
        "dst": pa.array(rows["dst"]).cast(pa.string()),
        "values": pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows["flat"])),
    }
    columns |= {name: pa.array(rows[name]) for name in (*INTS, "response_ms")}
    table = pa.Table.from_arrays([columns[c] for c in MODBUS_COLUMNS], schema=MODBUS_SCHEMA)
    return traffic_to_pandas(table)


def _hosts(x, n: int) -> pd.Categorical:
    """A host column: a few IPv4 addresses over up to millions of rows."""
    if isinstance(x, str):
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [x])
    return pd.Categorical(np.broadcast_to(np.asarray(x, dtype=object), n))


def _to_ns(stamps) -> np.ndarray:
    index = pd.DatetimeIndex(stamps)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("ns").asi8
