"""Historian export (historian.parquet): what a plant historian kept of the SCADA data.

A long table (timestamp, tag, value, quality), sorted by timestamp then tag, with the
habits and flaws of a real historian, all drawn from `rng` and listed in the returned
`HistorianExport` (periods in true time, inclusive, whole seconds):

- Store on change, exactly as a deadband (exception) filter: a sample is stored when
  it differs from the tag's last stored value by more than `Tag.deadband` (0: any
  change), or turns NaN or back. So every sample not stored is within the deadband
  (<=) of the last stored one. Also stored: the first sample of every 10 minutes
  (heartbeat, from the first sample), every quality change, and each tag's first
  sample after the outage.
- Quality: "Good"; "Bad" (sensor fault; value NaN, as AVEVA/Wonderware exports NULL
  and PI a digital state such as "Bad Input", not a -9999 sentinel that would pollute
  statistics); "Uncertain" (analyser calibration; value as recorded); "Substituted"
  (an operator entered a constant value).
- Stale periods: a tag repeats its last value with quality Good (a comms fault the
  historian did not flag).
- One outage: no rows at all with a timestamp in it.
- One PLC's clock drifts: its tags' timestamps run ahead of true time linearly, by
  `drift_seconds_per_day` (rounded to the millisecond).
Quirks avoid attack windows, the outage, each other on the same tag and the drifting
PLC, so the data-quality lessons stay apart from the attack labels; when the labels
are hidden (`clear_of_attacks=False`) they may overlap attacks, or the datacard's
list of quirks would tell where attacks are not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icslab.formats import QUALITIES
from icslab.sim.records import Simulation, Tag

GOOD, BAD, UNCERTAIN, SUBSTITUTED = range(len(QUALITIES))  # codes of the quality column
HEARTBEAT = pd.Timedelta(minutes=10)
ANALYSER_UNITS = ("NTU", "mg/L", "pH")
SECOND = 1_000_000_000  # ns

# Per kind: (occurrences per day, shortest, longest in seconds); at least one of each.
QUIRKS = {
    "bad": (1.5, 60, 900),
    "uncertain": (0.5, 600, 2700),
    "substituted": (0.5, 1800, 4 * 3600),
    "stale": (1.0, 600, 5400),
}

Period = tuple[str, pd.Timestamp, pd.Timestamp]  # (tag, start, end), inclusive


@dataclass(frozen=True)
class HistorianExport:
    table: pd.DataFrame  # timestamp, tag, value, quality
    outage: tuple[pd.Timestamp, pd.Timestamp]  # inclusive, in historian time
    drifting_plc: str
    drift_seconds_per_day: float
    bad: tuple[Period, ...]
    uncertain: tuple[Period, ...]
    substituted: tuple[Period, ...]
    stale: tuple[Period, ...]

    def periods(self) -> pd.DataFrame:
        """Every per-tag quirk as rows of kind, tag, start, end (for the datacard)."""
        rows = [(kind, *p) for kind in QUIRKS for p in getattr(self, kind)]
        return pd.DataFrame(rows, columns=["kind", "tag", "start", "end"])


def export_historian(
    sim: Simulation, rng: np.random.Generator, *, clear_of_attacks: bool = True
) -> HistorianExport:
    times = pd.DatetimeIndex(sim.scada["timestamp"]).tz_convert("UTC").as_unit("ns").asi8
    outage = _pick_outage(times, rng)
    plcs = sorted({t.plc for t in sim.tags})
    drifting_plc = plcs[rng.integers(len(plcs))]
    drift = round(float(rng.uniform(1.5, 3.0)), 2)
    attacks = sim.attacks if clear_of_attacks else []
    quirks = _pick_quirks(sim, times, outage, drifting_plc, rng, attacks)

    drift_ns = np.round((times - times[0]) * (drift / 86_400) / 1e6).astype(np.int64) * 10**6
    clocks = {False: times, True: times + drift_ns}
    period = int(HEARTBEAT.value // (times[1] - times[0]))  # samples per heartbeat
    tags = sorted(sim.tags, key=lambda t: t.name)
    pieces = []
    for code, tag in enumerate(tags):
        stamps = clocks[tag.plc == drifting_plc]
        values, quality = _recorded(sim.scada[tag.name], tag, times, quirks)
        forced = np.ones(len(values), dtype=bool)
        forced[1:] = quality[1:] != quality[:-1]
        first_lost = np.searchsorted(stamps, outage[0], side="left")
        first_back = np.searchsorted(stamps, outage[1], side="right")
        forced[first_back : first_back + 1] = True  # the historian reconnects
        kept = _exceptions(values, forced, tag.deadband, period)
        kept[first_lost:first_back] = False
        rows = np.flatnonzero(kept)
        pieces.append(
            (stamps[rows], np.full(len(rows), code, np.int16), values[rows], quality[rows])
        )

    stamps, codes, values, quality = (np.concatenate(c) for c in zip(*pieces, strict=True))
    order = np.argsort(stamps, kind="stable")  # pieces are in tag order: ties stay sorted
    table = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps[order].view("M8[ns]")).tz_localize("UTC"),
            "tag": pd.Categorical.from_codes(codes[order], [t.name for t in tags]),
            "value": values[order],
            "quality": pd.Categorical.from_codes(quality[order], QUALITIES),
        }
    )
    return HistorianExport(
        table=table,
        outage=tuple(pd.Timestamp(t, tz="UTC") for t in outage),
        drifting_plc=drifting_plc,
        drift_seconds_per_day=drift,
        **{kind: tuple(quirks[kind]) for kind in QUIRKS},
    )


def _exceptions(values: np.ndarray, forced: np.ndarray, deadband: float, period: int) -> np.ndarray:
    """Which samples the historian stores: `forced` ones, the first of every `period`
    samples (heartbeat), and any that differs from the last stored value by more than
    the deadband (or turns NaN or back).

    The rule is sequential, but each heartbeat period starts from a stored sample, so
    the periods are independent: step through the `period` positions once, all
    periods at a time (a matrix of period x number of periods).
    """
    n = len(values)
    periods = -(-n // period)
    padded = np.full(periods * period, np.nan)
    padded[:n] = values
    grid = padded.reshape(periods, period).T.copy()  # row j: sample j of every period
    padded_forced = np.zeros(periods * period, dtype=bool)
    padded_forced[:n] = forced
    force = padded_forced.reshape(periods, period).T.copy()
    has_nan = bool(np.isnan(values).any())

    stored = np.ones_like(force)
    last = grid[0].copy()
    for j in range(1, period):
        value = grid[j]
        store = force[j] | (np.abs(value - last) > deadband)
        if has_nan:
            store |= np.isnan(value) != np.isnan(last)
        np.copyto(last, value, where=store)
        stored[j] = store
    return stored.T.reshape(-1)[:n]


def _recorded(column: pd.Series, tag: Tag, times: np.ndarray, quirks: dict[str, list[Period]]):
    """The tag's values and quality codes as the historian received them."""
    values = column.to_numpy(dtype=np.float64, copy=True)
    quality = np.zeros(len(values), dtype=np.int8)
    for kind, periods in quirks.items():
        for name, start, end in periods:
            if name != tag.name:
                continue
            i = np.searchsorted(times, start.value, side="left")
            j = np.searchsorted(times, end.value, side="right")
            if kind == "bad":
                values[i:j], quality[i:j] = np.nan, BAD
            elif kind == "uncertain":
                quality[i:j] = UNCERTAIN
            elif kind == "substituted":
                values[i:j], quality[i:j] = np.round(values[i], 2), SUBSTITUTED
            else:  # stale: the last value before the comms froze
                values[i:j] = values[max(i - 1, 0)]
    return values, quality


def _pick_outage(times: np.ndarray, rng) -> np.ndarray:
    """[start, end] in ns, whole seconds, 20-60 minutes (at most a quarter of the data)."""
    span = (times[-1] - times[0]) // SECOND
    length = min(int(rng.integers(20 * 60, 60 * 60 + 1)), span // 4)
    start = int(rng.integers(span // 10, max(span * 9 // 10 - length, span // 10 + 1)))
    return times[0] + np.array([start, start + length]) * SECOND


def _pick_quirks(
    sim: Simulation, times, outage, drifting_plc: str, rng, attacks
) -> dict[str, list[Period]]:
    """Per kind, a list of (tag, start, end) clear of `attacks`, the outage and each other."""
    t0, span = int(times[0]), int(times[-1] - times[0]) // SECOND
    busy = [tuple(outage)] + [(a.start.value, a.end.value) for a in attacks]
    taken: dict[str, list] = {}
    sensors = [t for t in sim.tags if t.kind == "sensor" and t.plc != drifting_plc]
    sensors = sensors or [t for t in sim.tags if t.plc != drifting_plc] or sim.tags
    analysers = [t for t in sensors if t.unit in ANALYSER_UNITS] or sensors
    quirks: dict[str, list[Period]] = {}
    for kind, (per_day, shortest, longest) in QUIRKS.items():
        candidates = analysers if kind == "uncertain" else sensors
        wanted = max(1, round(per_day * span / 86_400))
        quirks[kind] = []
        for _ in range(20 * wanted):
            if len(quirks[kind]) == wanted:
                break
            tag = candidates[rng.integers(len(candidates))].name
            length = int(min(rng.uniform(shortest, longest), span / 10))
            start = t0 + int(rng.integers(0, span - length)) * SECOND
            end = start + length * SECOND
            if any(s <= end and start <= e for s, e in busy + taken.get(tag, [])):
                continue
            taken.setdefault(tag, []).append((start, end))
            quirks[kind].append((tag, pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")))
    return quirks
