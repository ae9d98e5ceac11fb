"""A hidden set's seed and attack schedule, drawn per lab from a secret.

A published set has a public seed and schedule: anyone may rebuild it. A set whose
labels are hidden must not be rebuildable from what participants can read (the
repository, the image, icslab itself), or re-simulating it and diffing would give
its labels away. So the catalog gives only its constraints (`draw`: how many
attacks, which kinds, how long, how far apart), and each lab draws the rest from a
secret made on its first build and kept with the answers (icslab.sim.build): the
same secret gives the same files, byte for byte; another secret, other attacks.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

from icslab.sim.catalog import DatasetSpec
from icslab.sim.records import STAGES, Network, Simulation
from icslab.sim.simulate import simulate
from icslab.sim.tags import BY_NAME, TAGS
from icslab.sim.waterworks import CONTROL_SENSORS, FORCEABLE, SETPOINT_DEFAULTS

SENSORS = tuple(t.name for t in TAGS if t.kind == "sensor")
ACTUATORS = tuple(a for a in FORCEABLE if BY_NAME[a].kind == "actuator")
SETPOINTS = tuple(t.name for t in TAGS if t.kind == "setpoint")
PLCS = tuple(sorted(Network().plcs))
ATTEMPTS = 20  # draws tried until every attack shows (about one in four needs a second)
LAG_MINUTES = (30, 120)  # replay: how long ago the replayed readings were recorded
TARGETS = {  # what each kind of single attack may aim at
    "sensor_constant": SENSORS,
    "sensor_bias": SENSORS,
    "sensor_drift": SENSORS,
    "frozen": SENSORS,
    "actuator_force": ACTUATORS,
    "setpoint_tamper": SETPOINTS,
    "modbus_injection": ACTUATORS + SETPOINTS,
    "reconnaissance": PLCS,
}


def simulate_drawn(name: str, spec: DatasetSpec, secret: str) -> Simulation:
    """The plant under the first schedule drawn from `secret` whose every attack shows
    in the data (a pump forced on while it runs anyway would be a label nobody can find)."""
    for attempt in range(ATTEMPTS):
        chosen = drawn(name, spec, secret, attempt)
        sim = simulate(name, chosen)
        if not unseen(sim, simulate(name, chosen.model_copy(update={"attacks": ()}))):
            return sim
    raise ValueError(f"{name}: no draw where every attack shows: loosen its `draw` in the catalog")


def unseen(sim: Simulation, quiet: Simulation) -> list[str]:
    """Attacks that change none of their target tags and send nothing on the network
    (`quiet`: the same plant without attacks)."""
    sent = sim.attack_traffic["timestamp"]
    found = []
    for attack in sim.attacks:
        inside = sim.scada["timestamp"].between(attack.start, attack.end)
        tags = [t for t in attack.targets if t in BY_NAME]
        changed = (sim.scada.loc[inside, tags] != quiet.scada.loc[inside, tags]).to_numpy().any()
        if not changed and not sent.between(attack.start, attack.end).any():
            found.append(attack.attack_id)
    return found


def drawn(name: str, spec: DatasetSpec, secret: str, attempt: int = 0) -> DatasetSpec:
    """`spec` with a seed and attacks drawn from the lab's secret, within `spec.draw`."""
    draw = spec.draw
    if draw is None:
        raise ValueError(f"{name}: a published set: its seed and attacks are in the catalog")
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).digest()
    seed = int.from_bytes(digest[:16], "big")  # 128 bits: no use guessing it from the data
    rng = np.random.default_rng([seed, 9, attempt])  # simulate, exports: streams 0-3
    n, gap = draw.attacks, draw.gap_minutes
    lengths = rng.integers(draw.minutes[0], draw.minutes[1] + 1, n)
    # The time left over, cut into n + 1 random waits (the catalog checked it is >= 0).
    slack = spec.seconds // 60 - int(lengths.sum()) - (n + 1) * gap
    waits = gap + np.diff(np.sort(rng.integers(0, slack + 1, n)), prepend=0)
    begins = np.cumsum(waits + np.r_[0, lengths[:-1]])
    kinds = [*draw.kinds, *rng.choice(draw.kinds, n - len(draw.kinds))]
    rng.shuffle(kinds)
    avoid = set(draw.avoid)
    attacks = []
    for kind, begin, length in zip(kinds, begins.tolist(), lengths.tolist(), strict=True):
        at = f"{begin // 1440}d{begin % 1440 // 60:02d}:{begin % 60:02d}"
        attack = {"at": at, "minutes": length, **_attack(str(kind), length, rng, avoid)}
        if kind == "replay":
            attack["lag_minutes"] = min(int(rng.integers(*LAG_MINUTES)), begin)
        attacks.append(attack)
    fields = spec.model_dump(exclude={"seed", "attacks", "sha256"})
    return DatasetSpec.model_validate({**fields, "seed": seed, "attacks": attacks})


def _attack(kind: str, minutes: int, rng, avoid: set) -> dict:
    """One attack's kind, target(s) and values (its time is drawn by the caller)."""
    if kind == "replay":  # a forced actuator, hidden by replaying its stage's readings
        target = _pick(rng, kind, ACTUATORS, avoid)
        stage = _of(SENSORS, BY_NAME[target].stage)
        first = _any(rng, [s for s in stage if s in CONTROL_SENSORS] or stage)
        second = _any(rng, [s for s in stage if s != first])
        value = _value("actuator_force", target, minutes, rng)
        return {"kind": kind, "target": target, "value": value, "conceal": [first, second]}
    if kind == "coordinated":  # a falsified reading covering forced actuators of its stage
        stages = [s for s in STAGES if _fresh("actuator_force", _of(ACTUATORS, s), avoid)]
        stage = _any(rng, stages or STAGES)
        sensors = _of(SENSORS, stage)
        # A reading the stage's PLC acts on, one not labelled before if there is one.
        control = [s for s in sensors if s in CONTROL_SENSORS] or sensors
        sensor = _pick(rng, "sensor_constant", control, avoid)
        actions = [_action("sensor_constant", sensor, minutes, rng)]
        actuators = _fresh("actuator_force", _of(ACTUATORS, stage), avoid) or _of(ACTUATORS, stage)
        for actuator in map(str, rng.permutation(actuators)[: rng.integers(1, 3)]):
            avoid.add(("actuator_force", actuator))
            actions.append(_action("actuator_force", actuator, minutes, rng))
        return {"kind": kind, "actions": actions}
    return _action(kind, _pick(rng, kind, TARGETS[kind], avoid), minutes, rng)


def _action(kind: str, target: str, minutes: int, rng) -> dict[str, str | float]:
    action: dict[str, str | float] = {"kind": kind, "target": target}
    if kind == "modbus_injection":  # coils take FC 5; registers FC 6 or 16
        action["function_code"] = int(rng.choice((5, 6) if BY_NAME[target].high == 1 else (6, 16)))
    if kind not in ("frozen", "reconnaissance"):
        action["value"] = _value(kind, target, minutes, rng)
    return action


def _value(kind: str, target: str, minutes: int, rng) -> float:
    """A value that shows: in range, a few percent of it off, or a state the PLC would
    not choose (rounded to what the tag's register holds)."""
    tag = BY_NAME[target]
    span, sign = tag.high - tag.low, rng.choice((-1, 1))
    if kind == "sensor_constant":
        value = tag.low + span * rng.uniform(0.3, 0.7)
    elif kind == "sensor_bias":
        value = sign * span * rng.uniform(0.05, 0.15)
    elif kind == "sensor_drift":  # per hour: 10-25 % of the range by the attack's end
        value = sign * span * rng.uniform(0.1, 0.25) * 60 / minutes
    elif tag.kind == "setpoint":  # 20-50 % off its default
        default = SETPOINT_DEFAULTS[target]
        value = np.clip(default * (1 + sign * rng.uniform(0.2, 0.5)), tag.low, tag.high)
    else:  # pumps run, valves and dosing pumps shut
        value = tag.high if tag.high == 1 else tag.low
    return float(round(value * tag.scale) / tag.scale)


def _pick(rng, kind: str, candidates, avoid: set) -> str:
    """A candidate not in `avoid` (any, if none is left), then avoided from now on."""
    choice = _any(rng, _fresh(kind, candidates, avoid) or candidates)
    avoid.add((kind, choice))
    return choice


def _fresh(kind: str, candidates, avoid: set) -> list[str]:
    return [c for c in candidates if (kind, c) not in avoid]


def _of(tags, stage: str) -> list[str]:
    return [t for t in tags if BY_NAME[t].stage == stage]


def _any(rng, items):
    return items[rng.integers(len(items))]
