"""Attacks with ground truth: what each kind does to the plant, its data and its network.

An attack on a sensor the PLCs read (waterworks.CONTROL_SENSORS) changes what the
PLCs decide, so it propagates through the physics; an attack on any other
sensor only changes what the SCADA records. Forced actuators and tampered
setpoints always act on the physics. Replay hides a manipulation by feeding
recorded readings to the PLC and the SCADA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias, get_args

import numpy as np
import pandas as pd

from icslab.sim.records import Attack
from icslab.sim.tags import BY_NAME
from icslab.sim.waterworks import (
    CONTROL_SENSORS,
    FORCEABLE,
    SETPOINT_DEFAULTS,
    Manipulations,
)

ATTACKER = "10.10.3.66"  # a host that has no business on the control network
# What one action does; an attack is one action, or several ("coordinated").
ActionKind: TypeAlias = Literal[
    "sensor_constant",
    "sensor_bias",
    "sensor_drift",
    "frozen",
    "replay",
    "actuator_force",
    "setpoint_tamper",
    "modbus_injection",
    "reconnaissance",
]
AttackKind: TypeAlias = Literal[ActionKind, "coordinated"]
KINDS: tuple[AttackKind, ...] = get_args(AttackKind)  # nested Literals flatten: all ten, in order
SENSOR_KINDS: tuple[ActionKind, ...] = ("sensor_constant", "sensor_bias", "sensor_drift", "frozen")


@dataclass(frozen=True)
class Action:
    """One manipulation; an attack is one action, or several (coordinated)."""

    kind: str
    target: str = ""  # a tag, or for reconnaissance a PLC name
    value: float = 0.0  # constant, forced or tampered value; bias; drift per hour
    lag_seconds: int = 0  # replay: how far back the replayed readings were recorded
    conceal: tuple[str, ...] = ()  # replay: the readings replayed
    function_code: int = 6  # modbus_injection


@dataclass(frozen=True)
class Window:
    start: int  # second index, inclusive
    end: int  # exclusive

    @property
    def slice(self) -> slice:
        return slice(self.start, self.end)


@dataclass
class NetworkAction:
    """Attack traffic for the Modbus export to render."""

    kind: str  # "scan" or "write"
    start: pd.Timestamp
    end: pd.Timestamp
    src: str
    plc: str
    register: int = 0
    value: int = 0
    function_code: int = 6


@dataclass
class PostEffect:
    """A change to the recorded data only (sensors no PLC reads)."""

    action: Action
    window: Window


@dataclass
class Applied:
    manipulations: Manipulations
    post: list[PostEffect] = field(default_factory=list)
    network: list[NetworkAction] = field(default_factory=list)


def apply_action(action: Action, window: Window, applied: Applied, start: pd.Timestamp) -> None:
    """Record what `action` does during `window` in the plant's manipulation arrays."""
    m, w = applied.manipulations, window.slice
    kind, tag = action.kind, action.target
    at = start + pd.Timedelta(seconds=window.start)
    until = start + pd.Timedelta(seconds=window.end - 1)
    if kind in SENSOR_KINDS and tag not in CONTROL_SENSORS:
        applied.post.append(PostEffect(action, window))
    elif kind == "sensor_constant":
        m.array("override", tag)[w] = action.value
    elif kind == "sensor_bias":
        m.array("offset", tag)[w] += action.value
    elif kind == "sensor_drift":
        m.array("offset", tag)[w] += action.value * np.arange(window.end - window.start) / 3600
    elif kind == "frozen":
        m.array("freeze", tag)[w] = True
    elif kind == "replay":
        for sensor in action.conceal:
            if sensor in CONTROL_SENSORS:
                m.array("replay_lag", sensor)[w] = action.lag_seconds
            else:
                replayed = Action("replay", sensor, lag_seconds=action.lag_seconds)
                applied.post.append(PostEffect(replayed, window))
        if tag:
            m.array("force", tag)[w] = action.value
    elif kind == "actuator_force":
        m.array("force", tag)[w] = action.value
    elif kind == "setpoint_tamper":
        _tamper(m, tag, w, action.value)
    elif kind == "modbus_injection":
        if tag in FORCEABLE and tag != "FSP301":
            m.array("force", tag)[w] = action.value
        else:
            _tamper(m, tag, w, action.value)
        meta = BY_NAME[tag]
        applied.network.append(
            NetworkAction(
                "write",
                at,
                until,
                ATTACKER,
                meta.plc,
                meta.register,
                round(action.value * meta.scale),
                action.function_code,
            )
        )
    elif kind == "reconnaissance":
        applied.network.append(NetworkAction("scan", at, until, ATTACKER, tag))
    else:
        raise ValueError(f"unknown attack kind {kind!r}")


def _tamper(m: Manipulations, tag: str, w: slice, value: float) -> None:
    if tag == "FSP301":  # the cascade's output: the attacker pins it
        m.array("force", tag)[w] = value
    else:
        m.array("setpoints", tag)[w] = value


def apply_post_effects(scada: pd.DataFrame, post: list[PostEffect]) -> None:
    """Falsify recorded readings of sensors no PLC reads (in place)."""
    for effect in post:
        action, window = effect.action, effect.window
        column = scada[action.target].to_numpy(copy=True)
        w = window.slice
        if action.kind == "sensor_constant":
            column[w] = action.value
        elif action.kind == "sensor_bias":
            column[w] += action.value
        elif action.kind == "sensor_drift":
            column[w] += action.value * np.arange(window.end - window.start) / 3600
        elif action.kind == "frozen":
            column[w] = column[max(0, window.start - 1)]
        elif action.kind == "replay":
            lag = action.lag_seconds
            column[w] = column[window.start - lag : window.end - lag]
        scada[action.target] = column


def describe(action: Action) -> str:
    """One line for labels.csv."""
    tag = BY_NAME.get(action.target)
    unit = f" {tag.unit}" if tag and tag.unit else ""
    v = f"{action.value:g}{unit}"
    match action.kind:
        case "sensor_constant":
            return f"{action.target} reported as a constant {v} while the real value moves"
        case "sensor_bias":
            return f"{action.target} reads {action.value:+g}{unit} off the real value"
        case "sensor_drift":
            return f"{action.target} drifts away from the real value by {action.value:+g}{unit}/h"
        case "frozen":
            return f"{action.target} frozen at its last value (stale reading)"
        case "replay":
            forced = f" while {action.target} is forced to {action.value:g}"
            hidden = forced if action.target else ""
            return (
                f"{', '.join(action.conceal)} replay readings recorded "
                f"{action.lag_seconds // 60} min earlier{hidden}"
            )
        case "actuator_force":
            return f"{action.target} forced to {v} regardless of the PLC logic"
        case "setpoint_tamper":
            default = SETPOINT_DEFAULTS.get(action.target)
            was = f" from {default:g}{unit}" if default is not None else ""
            return f"{action.target} changed{was} to {v}"
        case "modbus_injection":
            return (
                f"Modbus FC{action.function_code} writes from {ATTACKER} set {action.target} to {v}"
            )
        case "reconnaissance":
            return f"Modbus register scan of {action.target} from {ATTACKER} (network only)"
    raise ValueError(f"unknown attack kind {action.kind!r}")


def targets(action: Action) -> tuple[str, ...]:
    if action.kind == "replay":
        return (*action.conceal, *((action.target,) if action.target else ()))
    return (action.target,)


def label(attack_id: str, kind: str, actions: list[Action], window: Window,
          start: pd.Timestamp) -> Attack:  # fmt: skip
    touched: list[str] = []
    for action in actions:
        touched += [t for t in targets(action) if t not in touched]
    return Attack(
        attack_id=attack_id,
        start=start + pd.Timedelta(seconds=window.start),
        end=start + pd.Timedelta(seconds=window.end - 1),
        kind=kind,
        targets=tuple(touched),
        description="; ".join(describe(action) for action in actions),
    )
