"""A catalog entry -> a `Simulation`: the plant under its attack schedule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from icslab.sim.attacks import (
    Action,
    Applied,
    NetworkAction,
    Window,
    apply_action,
    apply_post_effects,
    label,
)
from icslab.sim.catalog import ActionFields, DatasetSpec
from icslab.sim.modbus import empty_traffic, scan_traffic, to_registers, write_traffic
from icslab.sim.records import Network, Simulation
from icslab.sim.tags import TAGS
from icslab.sim.waterworks import Manipulations, quantize, simulate_plant

SCAN_ADDRESSES = np.arange(0, 256)  # a sweep well past any PLC's 15 registers
WRITE_EVERY_SECONDS = 2  # the injector rewrites faster than the PLC logic reasserts


def action_of(spec: ActionFields) -> Action:
    """A catalog action (or single-action attack) as the simulator applies it."""
    return Action(
        kind=spec.kind,
        target=spec.target,
        value=spec.value,
        lag_seconds=spec.lag_minutes * 60,
        conceal=tuple(spec.conceal),
        function_code=spec.function_code,
    )


def simulate(name: str, spec: DatasetSpec) -> Simulation:
    if spec.seed is None:
        raise ValueError(f"{name}: a hidden set: draw its seed and attacks first (icslab.sim.draw)")
    start = pd.Timestamp(spec.start)
    n = spec.seconds
    # Separate streams: exporters drawing numbers never changes the plant.
    plant_rng = np.random.default_rng([spec.seed, 0])
    network_rng = np.random.default_rng([spec.seed, 1])
    applied = Applied(Manipulations(n))
    attacks = []
    for index, attack in enumerate(sorted(spec.attacks, key=lambda a: a.offset_seconds)):
        window = Window(attack.offset_seconds, attack.offset_seconds + round(attack.minutes * 60))
        actions = [action_of(a) for a in attack.actions] or [action_of(attack)]
        for action in actions:
            apply_action(action, window, applied, start)
        attacks.append(label(f"A{index + 1:02d}", attack.kind, actions, window, start))

    scada, _truth = simulate_plant(start, n, applied.manipulations, plant_rng)
    apply_post_effects(scada, applied.post)
    scada = quantize(scada)
    scada.insert(0, "timestamp", pd.date_range(start, periods=n, freq="s", unit="ns"))
    network = Network()
    traffic = [_render(action, scada, network, network_rng) for action in applied.network]
    attack_traffic = (
        pd.concat(traffic, ignore_index=True).sort_values("timestamp", kind="stable")
        if traffic
        else empty_traffic()
    )
    return Simulation(
        name=name,
        seed=spec.seed,
        scada=scada,
        tags=list(TAGS),
        attacks=attacks,
        network=network,
        attack_traffic=attack_traffic.reset_index(drop=True),
        parameters={"start": start.isoformat(), "hours": spec.hours},
    )


def _render(action: NetworkAction, scada: pd.DataFrame, network: Network, rng) -> pd.DataFrame:
    dst, unit_id = network.plcs[action.plc], network.unit_ids[action.plc]
    if action.kind == "scan":
        row = scada.index[scada["timestamp"] >= action.start][0]
        registers = {
            tag.register: int(to_registers([scada.at[row, tag.name]], tag.scale)[0])
            for tag in TAGS
            if tag.plc == action.plc
        }
        seconds = (action.end - action.start).total_seconds()
        return scan_traffic(
            action.start, action.src, dst, unit_id, SCAN_ADDRESSES, rng,
            registers=registers, interval_s=seconds / len(SCAN_ADDRESSES),
        )  # fmt: skip
    times = pd.date_range(action.start, action.end, freq=f"{WRITE_EVERY_SECONDS}s")
    return write_traffic(
        times, action.src, dst, unit_id, action.function_code, action.register,
        np.full(len(times), action.value), rng,
    )  # fmt: skip
