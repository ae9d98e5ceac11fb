"""A small synthetic `Simulation` for the exporter tests (and, scaled up, benchmarks).

Each PLC gets a cycle of tag templates: a level (random walk), a flow (noisy), a pump
(on/off), a setpoint (rare steps), a turbidity analyser and a pressure. One attack
rewrites a setpoint of PLC1 from an outside host, with a register scan before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icslab.sim.modbus import scan_traffic, to_registers, write_traffic
from icslab.sim.records import Attack, Network, Simulation, Tag

START = pd.Timestamp("2025-03-03 06:00", tz="UTC")
ATTACKER = "10.10.9.66"

# name prefix, unit, kind, stage, low, high, deadband, scale
TEMPLATES = [
    ("LIT", "m", "sensor", "reservoir", 0.0, 5.0, 0.01, 100),
    ("FIT", "m3/h", "sensor", "intake", 0.0, 300.0, 0.5, 10),
    ("P", "", "status", "distribution", 0.0, 1.0, 0.0, 1),
    ("SP", "m", "setpoint", "reservoir", 0.0, 5.0, 0.0, 100),
    ("AIT", "NTU", "sensor", "filtration", 0.0, 5.0, 0.02, 1000),
    ("PIT", "bar", "sensor", "distribution", 0.0, 10.0, 0.01, 100),
]


def make_tags(n_plcs: int, tags_per_plc: int) -> list[Tag]:
    tags = []
    for p in range(1, n_plcs + 1):
        for k in range(tags_per_plc):
            prefix, unit, kind, stage, low, high, deadband, scale = TEMPLATES[k % len(TEMPLATES)]
            name = f"{prefix}{p}{k:02d}"
            tags.append(
                Tag(name, unit, kind, stage, name, low, high, deadband, f"PLC{p}", 100 + k, scale)
            )
    return tags


def _signal(tag: Tag, n: int, rng: np.random.Generator) -> np.ndarray:
    if tag.kind == "status":  # a pump switching every 5-60 minutes
        switches = np.cumsum(rng.integers(300, 3600, n // 300 + 2))
        return (np.searchsorted(switches, np.arange(n), side="right") % 2).astype(float)
    if tag.kind == "setpoint":  # a few operator steps per day, at least two
        steps = np.sort(rng.choice(np.arange(60, n - 60), max(2, n // 21_600), replace=False))
        levels = np.round(rng.uniform(2.0, 4.0, len(steps) + 1), 2)
        return levels[np.searchsorted(steps, np.arange(n), side="right")]
    middle, width = (tag.low + tag.high) / 2, tag.high - tag.low
    walk = np.cumsum(rng.normal(0.0, width * 2e-4, n))
    walk = middle + width * 0.3 * np.tanh(walk / (width * 0.3))  # stays inside the range
    return np.round(walk + rng.normal(0.0, tag.deadband / 4 + 1e-3, n), 4)


def synthetic_simulation(
    seconds: int = 7200, n_plcs: int = 3, tags_per_plc: int = 6, seed: int = 0
) -> Simulation:
    rng = np.random.default_rng(seed)
    tags = make_tags(n_plcs, tags_per_plc)
    scada = pd.DataFrame(
        {"timestamp": pd.date_range(START, periods=seconds, freq="s", unit="ns")}
        | {tag.name: _signal(tag, seconds, rng) for tag in tags}
    )
    target = next(t for t in tags if t.kind == "setpoint" and t.plc == "PLC1")
    start = START + pd.Timedelta(seconds=seconds * 4 // 10)
    end = start + pd.Timedelta(seconds=seconds // 20)
    in_attack = (scada["timestamp"] >= start) & (scada["timestamp"] <= end)
    scada.loc[in_attack, target.name] = 4.9  # overflow the reservoir
    network = Network()
    registers = {t.register: 0 for t in tags if t.plc == "PLC1"}
    recon = start - pd.Timedelta(minutes=5)
    traffic = pd.concat(
        [
            scan_traffic(
                recon, ATTACKER, network.plcs["PLC1"], 1, range(95, 125), rng, registers=registers
            ),
            write_traffic(
                [start - pd.Timedelta(milliseconds=300)],
                ATTACKER,
                network.plcs["PLC1"],
                1,
                6,
                target.register,
                to_registers([4.9], target.scale),
                rng,
            ),
        ],
        ignore_index=True,
    )
    attack = Attack("A01", start, end, "setpoint_change", (target.name,), "raise a setpoint")
    return Simulation("synthetic", seed, scada, tags, [attack], network, traffic)
