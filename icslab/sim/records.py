"""The records the plant simulator hands to its exporters: tags, attacks, network.

The simulator (waterworks.py, attacks.py, simulate.py) produces a `Simulation`; the
exporters (historian_export.py, modbus.py, datacard.py, build.py) only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

TagKind = Literal["sensor", "actuator", "setpoint", "status"]
STAGES = ("intake", "dosing", "filtration", "reservoir", "distribution")


@dataclass(frozen=True)
class Tag:
    name: str  # e.g. "LIT101"; a column of scada.parquet
    unit: str  # "m", "m3/h", "bar", "NTU", "mg/L", "%", "kPa", "degC", "pH", "" (states)
    kind: TagKind
    stage: str  # one of STAGES
    description: str
    low: float  # engineering range, also the Modbus scaling range
    high: float
    deadband: float  # historian compression deadband, in the tag's unit (0 = every change)
    plc: str  # the PLC that owns the tag, a key of Network.plcs
    register: int  # Modbus holding register address on that PLC
    scale: float  # register value = round(value * scale), a signed 16-bit integer


@dataclass(frozen=True)
class Attack:
    attack_id: str  # "A01", "A02", ...
    start: pd.Timestamp  # UTC, inclusive
    end: pd.Timestamp  # UTC, inclusive
    kind: str  # one of attacks.KINDS
    targets: tuple[str, ...]  # tag names (or PLC names for network-only attacks)
    description: str  # one line


@dataclass(frozen=True)
class Network:
    """Modbus/TCP hosts: the HMI polls every PLC; attackers appear as other hosts."""

    hmi: str = "10.10.1.10"
    engineering: str = "10.10.1.20"  # engineering workstation: legitimate, rare writes
    plcs: dict[str, str] = field(
        default_factory=lambda: {
            "PLC1": "10.10.2.11",
            "PLC2": "10.10.2.12",
            "PLC3": "10.10.2.13",
            "PLC4": "10.10.2.14",
            "PLC5": "10.10.2.15",
        }
    )
    unit_ids: dict[str, int] = field(
        default_factory=lambda: {"PLC1": 1, "PLC2": 2, "PLC3": 3, "PLC4": 4, "PLC5": 5}
    )


@dataclass
class Simulation:
    """One simulated run: what the SCADA recorded, and the ground truth beside it."""

    name: str
    seed: int
    scada: pd.DataFrame  # "timestamp" (UTC, 1 Hz) + one float64 column per tag
    tags: list[Tag]
    attacks: list[Attack]
    network: Network
    # Attack traffic to merge into the HMI's polling: formats.MODBUS_COLUMNS, sorted by time.
    attack_traffic: pd.DataFrame
    parameters: dict = field(default_factory=dict)
