"""The simulated waterworks: the process's physics and its PLCs' logic, at 1 Hz.

Slow exogenous inputs (demand, raw-water quality) are generated vectorised
first; the PLC logic and the tank balances, which carry state from one second
to the next, run in one tight loop over plain Python floats; everything that
follows from that state without feedback (analysers, pressures, dosing tanks,
noise, register resolution) is vectorised after it.

Attacks act through `Manipulations`: what the PLCs read (sensor spoofing,
freezing, replay), what they command (forced actuators) and their setpoints.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd

from icslab.sim.tags import BY_NAME, TAG_NAMES

DAY = 86_400

# Plant constants: also printed in the datacard, used by the invariant tests.
AREA = {"T101": 150.0, "T401": 400.0, "T501": 120.0, "T502": 100.0}  # m2
# Each tank's level and the flows that fill and drain it: its mass balance.
TANK_FLOWS = {
    "T101": ("LIT101", ("FIT101",), ("FIT301",)),
    "T401": ("LIT401", ("FIT301",), ("FIT302", "FIT401")),
    "T501": ("LIT501", ("FIT501",), ("FIT503",)),
    "T502": ("LIT502", ("FIT502",), ("FIT504",)),
}
RIVER_PUMP_FLOW = 620.0  # m3/h each, P101/P102
HIGH_LIFT_FLOW = 450.0  # m3/h each, P401-P403
BACKWASH_FLOW = 900.0  # m3/h, P301, drawn from the clear well
VALVE_GAIN = 8.0  # m3/h per % opening of MV301
BACKWASH_SECONDS, RIPENING_SECONDS = 900, 600
BACKWASH_EVERY = 36 * 3600  # s: backwash even if the pressure never rises enough
COAGULANT_STRENGTH = 480.0  # dose [mg/L] * flow [m3/h] / 480 = coagulant [L/h]
HYPOCHLORITE_STRENGTH = 100.0  # mg/L residual per (L/h per m3/h)

# Sensors the PLC logic reads: attacks on these change what the plant does.
CONTROL_SENSORS = ("LIT101", "FIT301", "DPIT301", "LIT401", "AIT401", "LIT501", "LIT502", "PIT502")
FORCEABLE = (
    "P101_CMD",
    "P102_CMD",
    "P301_CMD",
    "P401_CMD",
    "P402_CMD",
    "P403_CMD",
    "P501_CMD",
    "MV301",
    "MV501",
    "MV502",
    "SIT202",
    "FSP301",
)
# Production follows the clear well: every 10 min the PLC sets FSP301 from its level.
CASCADE_SECONDS, CASCADE_GAIN, CLEAR_WELL_TARGET = 600, 150.0, 3.5  # s, m3/h per m, m
CASCADE_STEP, CASCADE_MIN, CASCADE_MAX = 10.0, 200.0, 850.0  # m3/h: FSP301's steps and limits
SETPOINT_DEFAULTS = {
    "LSP101_LOW": 2.0,
    "LSP101_HIGH": 4.2,
    "DSP201": 22.0,
    "CSP202": 1.0,
    "FSP301": 560.0,  # the cascade's base production; FSP301 itself is the cascade's output
    "DPSP301": 60.0,
    "LSP401_LOWLOW": 0.8,
    "LSP501_LOW": 3.0,
    "LSP501_HIGH": 4.5,
    "PSP502": 2.6,
}
NOISE = {  # standard deviation of each sensor's noise, in its unit
    "LIT101": 0.004,
    "FIT101": 2.0,
    "PIT101": 0.01,
    "AIT101": 0.05,
    "AIT102": 0.01,
    "AIT103": 0.03,
    "FIT201": 0.1,
    "LIT201": 0.003,
    "AIT201": 0.01,
    "FIT202": 0.02,
    "LIT202": 0.003,
    "FIT301": 2.0,
    "DPIT301": 0.2,
    "AIT301": 0.003,
    "FIT302": 3.0,
    "LIT401": 0.004,
    "FIT401": 2.0,
    "PIT401": 0.01,
    "AIT401": 0.01,
    "AIT402": 0.01,
    "AIT403": 0.003,
    "LIT501": 0.004,
    "LIT502": 0.004,
    "FIT501": 2.0,
    "FIT502": 2.0,
    "FIT503": 2.0,
    "FIT504": 2.0,
    "PIT501": 0.01,
    "PIT502": 0.01,
}


@dataclass
class Manipulations:
    """Per-second arrays an attack fills in; the defaults leave the plant alone."""

    n: int
    setpoints: dict[str, np.ndarray] = field(default_factory=dict)
    offset: dict[str, np.ndarray] = field(default_factory=dict)  # added to a reading
    override: dict[str, np.ndarray] = field(default_factory=dict)  # NaN = real reading
    freeze: dict[str, np.ndarray] = field(default_factory=dict)  # bool: hold last reading
    replay_lag: dict[str, np.ndarray] = field(default_factory=dict)  # s; 0 = live
    force: dict[str, np.ndarray] = field(default_factory=dict)  # NaN = PLC decides

    def array(self, kind: str, tag: str) -> np.ndarray:
        """The array to write into (created on first use)."""
        store = getattr(self, kind)
        if tag not in store:
            if kind == "setpoints":
                store[tag] = np.full(self.n, SETPOINT_DEFAULTS[tag])
            elif kind in ("override", "force"):
                store[tag] = np.full(self.n, np.nan)
            elif kind == "freeze":
                store[tag] = np.zeros(self.n, dtype=bool)
            elif kind == "replay_lag":
                store[tag] = np.zeros(self.n, dtype=np.int64)
            else:
                store[tag] = np.zeros(self.n)
        return store[tag]

    def setpoint(self, tag: str) -> np.ndarray:
        return self.setpoints.get(tag, np.full(self.n, SETPOINT_DEFAULTS[tag]))

    def any_sensor_active(self) -> np.ndarray:
        """Seconds in which some control-sensor reading is manipulated."""
        active = np.zeros(self.n, dtype=bool)
        for tag in CONTROL_SENSORS:
            if tag in self.offset:
                active |= self.offset[tag] != 0
            if tag in self.override:
                active |= ~np.isnan(self.override[tag])
            if tag in self.freeze:
                active |= self.freeze[tag]
            if tag in self.replay_lag:
                active |= self.replay_lag[tag] > 0
        return active


@dataclass(frozen=True)
class Inputs:
    """Exogenous, vectorised: what the plant does not control."""

    demand_a: np.ndarray  # m3/h
    demand_b: np.ndarray
    raw_turbidity: np.ndarray  # NTU
    raw_ph: np.ndarray
    raw_temperature: np.ndarray  # degC


def _smooth_noise(rng: np.random.Generator, n: int, step: int, sigma: float, keep: float):
    """AR(1) noise at one point per `step` seconds, interpolated to 1 Hz."""
    points = n // step + 2
    shocks = rng.normal(0.0, sigma, points)
    values = np.empty(points)
    value = 0.0
    for i in range(points):  # a few thousand points, not one per second
        value = keep * value + shocks[i]
        values[i] = value
    return np.interp(np.arange(n), np.arange(points) * step, values)


def make_inputs(start: pd.Timestamp, n: int, rng: np.random.Generator) -> Inputs:
    seconds = np.arange(n)
    hour = ((start - start.normalize()).total_seconds() + seconds) / 3600.0 % 24.0
    since_midnight = (start - start.normalize()).total_seconds()
    weekday = (start.day_of_week + (since_midnight + seconds) // DAY) % 7
    weekend = weekday >= 5
    # Morning and evening peaks; weekends start later and flatter.
    morning = np.where(weekend, 9.0, 7.0)
    shape = (
        0.55
        + 0.55 * np.exp(-(((hour - morning) / 1.8) ** 2))
        + 0.40 * np.exp(-(((hour - 19.5) / 2.5) ** 2))
        + 0.15 * np.exp(-(((hour - 13.0) / 3.0) ** 2))
    )
    wobble_a = 1 + _smooth_noise(rng, n, 60, 0.02, 0.97)
    wobble_b = 1 + _smooth_noise(rng, n, 60, 0.02, 0.97)
    demand_a = 415.0 * shape * wobble_a  # about 300 m3/h on average
    demand_b = 325.0 * shape * wobble_b  # about 235 m3/h
    # Raw turbidity: a base that wanders, plus rain events that decay over hours.
    turbidity = 4.0 + np.abs(_smooth_noise(rng, n, 300, 0.15, 0.995))
    for _ in range(rng.poisson(n / DAY * 0.6)):
        at = int(rng.integers(0, n))
        peak = rng.uniform(5, 25)
        tail = seconds[at:] - at
        turbidity[at:] += peak * (1 - np.exp(-tail / 1800.0)) * np.exp(-tail / (6 * 3600.0))
    raw_ph = (
        7.45 + 0.1 * np.sin(2 * np.pi * (hour - 15) / 24) + _smooth_noise(rng, n, 300, 0.01, 0.99)
    )
    temperature = (
        13.5 + 1.2 * np.sin(2 * np.pi * (hour - 10) / 24) + _smooth_noise(rng, n, 600, 0.05, 0.99)
    )
    return Inputs(demand_a, demand_b, turbidity, raw_ph, temperature)


# What the loop records each second, in this order (readings for CONTROL_SENSORS). The
# loop appends a plain tuple per second (fast), matched to these names by position only:
# tests/unit/test_plc_loop.py checks every column against the physics of its name, so a
# value appended out of place fails there.
LOOP_COLUMNS = (
    "LIT101",
    "FIT101",
    "P101_CMD",
    "P102_CMD",
    "P101_RUN",
    "P102_RUN",
    "P1_DUTY",
    "FIT301",
    "MV301",
    "DPIT301",
    "BW301_STATE",
    "P301_CMD",
    "P301_RUN",
    "FIT302",
    "FSP301",
    "LIT401",
    "FIT401",
    "P401_CMD",
    "P402_CMD",
    "P403_CMD",
    "P401_RUN",
    "P402_RUN",
    "P403_RUN",
    "P4_DUTY",
    "AIT401",
    "SIT202",
    "LIT501",
    "LIT502",
    "MV501",
    "MV502",
    "FIT501",
    "FIT502",
    "P501_CMD",
    "P501_RUN",
    "PIT502",
    # The truth behind the readings an attack can falsify:
    "true_LIT101",
    "true_FIT301",
    "true_DPIT301",
    "true_LIT401",
    "true_AIT401",
    "true_LIT501",
    "true_LIT502",
    "true_PIT502",
)
_COLUMN = {name: i for i, name in enumerate(LOOP_COLUMNS)}


T_co = TypeVar("T_co", covariant=True)


class PerSecond(Protocol[T_co]):
    """Values by second: a list offline, a view a live plant's attacks write into."""

    def __getitem__(self, t: int, /) -> T_co: ...


@dataclass
class Stretch:
    """A stretch of time as the PLC loop reads it, second by second (index 0..n-1).

    Offline the sequences are plain lists (a hot loop); a live plant gives views
    whose values an attack launched now changes for the seconds still to come."""

    start: pd.Timestamp
    n: int
    demand_a: PerSecond[float]
    demand_b: PerSecond[float]
    turbidity: PerSecond[float]
    noise: Mapping[str, PerSecond[float]]  # each control sensor's reading noise
    setpoints: Mapping[str, PerSecond[float]]
    force: Mapping[str, PerSecond[float]]
    offset: Mapping[str, PerSecond[float]]
    override: Mapping[str, PerSecond[float]]
    freeze: Mapping[str, PerSecond[bool]]
    replay_lag: Mapping[str, PerSecond[int]]
    manipulated: PerSecond[bool]  # some control-sensor reading is falsified
    forced_any: PerSecond[bool]  # some output or FSP301 is forced


def loop_noise(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The control sensors' reading noise, drawn before the loop starts."""
    return {tag: rng.normal(0, NOISE[tag], n) for tag in CONTROL_SENSORS}


def _forced_seconds(manipulations: Manipulations, n: int) -> list[bool]:
    forced = np.zeros(n, dtype=bool)
    for values in manipulations.force.values():
        forced |= ~np.isnan(values)
    return forced.tolist()


def _lists(manipulations: Manipulations, names, kind: str) -> dict[str, list]:
    store = getattr(manipulations, kind)
    return {name: store[name].tolist() for name in names if name in store}


def stretch_of(
    start: pd.Timestamp, inputs: Inputs, manipulations: Manipulations, rng: np.random.Generator
) -> Stretch:
    """A whole simulation as one stretch of plain lists; draws the loop's noise."""
    n = len(inputs.demand_a)
    return Stretch(
        start=start,
        n=n,
        demand_a=inputs.demand_a.tolist(),
        demand_b=inputs.demand_b.tolist(),
        turbidity=inputs.raw_turbidity.tolist(),
        noise={tag: values.tolist() for tag, values in loop_noise(n, rng).items()},
        setpoints={tag: manipulations.setpoint(tag).tolist() for tag in SETPOINT_DEFAULTS},
        force=_lists(manipulations, FORCEABLE, "force"),
        offset=_lists(manipulations, CONTROL_SENSORS, "offset"),
        override=_lists(manipulations, CONTROL_SENSORS, "override"),
        freeze=_lists(manipulations, CONTROL_SENSORS, "freeze"),
        replay_lag=_lists(manipulations, CONTROL_SENSORS, "replay_lag"),
        manipulated=manipulations.any_sensor_active().tolist(),
        forced_any=_forced_seconds(manipulations, n),
    )


def run_plc_loop(
    start: pd.Timestamp, inputs: Inputs, manipulations: Manipulations, rng: np.random.Generator
) -> np.ndarray:
    """Simulate second by second; return an (n, len(LOOP_COLUMNS)) array."""
    stretch = stretch_of(start, inputs, manipulations, rng)
    return np.array(list(plc_steps([stretch], rng)), dtype=np.float64)


def plc_steps(
    stretches: Iterable[Stretch], rng: np.random.Generator, keep: int | None = None
) -> Iterator[tuple[float, ...]]:
    """The plant second by second, one tuple of LOOP_COLUMNS each, through `stretches`
    one after the other (each starting where the last ended): the state carries over.

    `keep`: seconds of past rows kept for replay attacks (None: all)."""
    rows: list[tuple] = []  # past rows; rows[0] is second `base`
    base = g = 0  # g: seconds since the first stretch began
    pending = iter(stretches)
    stretch = next(pending, None)

    def reading(tag: str, t: int, value: float) -> float:
        """What the PLC reads when an attack is active on some control sensor."""
        if tag in lags and lags[tag][t] > 0:
            return rows[g - base - lags[tag][t]][_COLUMN[tag]]
        if tag in freezes and freezes[tag][t] and g > 0:
            return rows[g - base - 1][_COLUMN[tag]]
        if tag in overrides and overrides[tag][t] == overrides[tag][t]:  # not NaN
            return overrides[tag][t]
        if tag in offsets:
            return value + offsets[tag][t]
        return value

    def command(tag: str, t: int, decided: float) -> float:
        if tag in forced:
            value = forced[tag][t]
            if value == value:  # not NaN: the attacker's value wins
                return value
        return decided

    # State at t = 0: a plant in normal operation.
    l101, l401, l501, l502 = 3.0, 3.5, 4.2, 4.4
    q_intake = q301 = 560.0
    q302 = q401 = 0.0
    run101 = 1.0
    run102 = run301 = run401 = run402 = run403 = run501 = 0.0
    duty1, duty4 = 1, 1
    intake_duty_on, intake_assist_on = True, False
    mv301, integral301, production = 70.0, 70.0, 560.0
    dp301, bw_state, bw_timer, since_bw = 25.0, 0, 0, int(rng.integers(0, BACKWASH_EVERY // 2))
    hl_duty_on, hl_assist_on, dry_run_lock = True, False, False
    mv501 = mv502 = 100.0
    open501 = open502 = True
    chlorine, integral202, sit202 = 1.0, 0.0, 31.0
    dp_rate = 40.0 / (30 * 3600 * 5.0 * 560.0)  # ~30 h from clean to 65 kPa at 5 NTU
    to_area = {name: 1.0 / (3600.0 * area) for name, area in AREA.items()}

    while stretch is not None:
        n, forced_any, manipulated = stretch.n, stretch.forced_any, stretch.manipulated
        sp, noise = stretch.setpoints, stretch.noise
        forced, offsets, overrides = stretch.force, stretch.offset, stretch.override
        freezes, lags = stretch.freeze, stretch.replay_lag
        demand_a, demand_b, turbidity = stretch.demand_a, stretch.demand_b, stretch.turbidity
        seconds_of_day = int((stretch.start - stretch.start.normalize()).total_seconds())
        # Locals, not dict lookups: this loop runs once per simulated second.
        sp_CSP202 = sp["CSP202"]
        sp_DPSP301 = sp["DPSP301"]
        sp_FSP301 = sp["FSP301"]
        sp_LSP101_HIGH = sp["LSP101_HIGH"]
        sp_LSP101_LOW = sp["LSP101_LOW"]
        sp_LSP401_LOWLOW = sp["LSP401_LOWLOW"]
        sp_LSP501_HIGH = sp["LSP501_HIGH"]
        sp_LSP501_LOW = sp["LSP501_LOW"]
        sp_PSP502 = sp["PSP502"]
        noise_AIT401 = noise["AIT401"]
        noise_DPIT301 = noise["DPIT301"]
        noise_FIT301 = noise["FIT301"]
        noise_LIT101 = noise["LIT101"]
        noise_LIT401 = noise["LIT401"]
        noise_LIT501 = noise["LIT501"]
        noise_LIT502 = noise["LIT502"]
        noise_PIT502 = noise["PIT502"]

        for t in range(n):
            forcing = forced_any[t]
            day_second = (seconds_of_day + t) % DAY
            if day_second == 0:  # midnight: rotate the river pumps
                duty1 = 2 if duty1 == 1 else 1
            if day_second == 6 * 3600:  # 06:00: rotate the high-lift pumps
                duty4 = duty4 % 3 + 1

            # -- readings (noisy; manipulated while an attack is on)
            r101 = l101 + noise_LIT101[t]
            r301 = q301 + noise_FIT301[t]
            rdp = dp301 + noise_DPIT301[t]
            r401 = l401 + noise_LIT401[t]
            rcl = chlorine + noise_AIT401[t]
            r501 = l501 + noise_LIT501[t]
            r502 = l502 + noise_LIT502[t]
            da, db = demand_a[t], demand_b[t]
            p502 = (l502 + 25.0) / 10.2 - 3e-6 * db * db + 0.8 * run501
            rp502 = p502 + noise_PIT502[t]
            if manipulated[t]:
                r101 = reading("LIT101", t, r101)
                r301 = reading("FIT301", t, r301)
                rdp = reading("DPIT301", t, rdp)
                r401 = reading("LIT401", t, r401)
                rcl = reading("AIT401", t, rcl)
                r501 = reading("LIT501", t, r501)
                r502 = reading("LIT502", t, r502)
                rp502 = reading("PIT502", t, rp502)

            # -- PLC1: river pumps on T101 level, duty + assist with hysteresis
            low, high = sp_LSP101_LOW[t], sp_LSP101_HIGH[t]
            if r101 < low:
                intake_duty_on = True
            elif r101 > high:
                intake_duty_on = False
            if r101 < low - 0.5:
                intake_assist_on = True
            elif r101 > low + 0.8:
                intake_assist_on = False
            want = (
                (intake_duty_on, intake_assist_on)
                if duty1 == 1
                else (intake_assist_on, intake_duty_on)
            )
            cmd101 = 1.0 if want[0] else 0.0
            cmd102 = 1.0 if want[1] else 0.0

            # -- PLC3: filter backwash sequence, inlet valve on a flow PI loop
            since_bw += 1
            if bw_state == 0 and (rdp > sp_DPSP301[t] or since_bw > BACKWASH_EVERY):
                bw_state, bw_timer = 1, 0
            elif bw_state == 1 and bw_timer >= BACKWASH_SECONDS:
                bw_state, bw_timer, since_bw = 2, 0, 0
            elif bw_state == 2 and bw_timer >= RIPENING_SECONDS:
                bw_state, bw_timer = 0, 0
            bw_timer += 1
            if bw_state == 1:
                mv_decided, integral301 = 0.0, 0.0
            else:
                if day_second % CASCADE_SECONDS == 0:
                    wanted = sp_FSP301[t] + CASCADE_GAIN * (CLEAR_WELL_TARGET - r401)
                    stepped = round(wanted / CASCADE_STEP) * CASCADE_STEP
                    production = min(CASCADE_MAX, max(CASCADE_MIN, stepped))
                if forcing:
                    production = command("FSP301", t, production)
                error = production - r301
                integral301 = min(100.0, max(0.0, integral301 + 0.004 * error))
                mv_decided = min(100.0, max(0.0, 0.04 * error + integral301))
            target_mv = mv_decided
            cmd301 = 1.0 if bw_state == 1 else 0.0

            # -- PLC4: high-lift pumps on T501 level, dry-run interlock on T401
            lowlow = sp_LSP401_LOWLOW[t]
            if r401 < lowlow:
                dry_run_lock = True
            elif r401 > lowlow + 0.4:
                dry_run_lock = False
            low, high = sp_LSP501_LOW[t], sp_LSP501_HIGH[t]
            if r501 < low:
                hl_duty_on = True
            elif r501 > high:
                hl_duty_on = False
            if r501 < low - 0.5:
                hl_assist_on = True
            elif r501 > low + 1.0:
                hl_assist_on = False
            path_open = mv501 > 5.0 or mv502 > 5.0
            allowed = path_open and not dry_run_lock
            duty_on, assist_on = allowed and hl_duty_on, allowed and hl_assist_on
            assist = duty4 % 3 + 1
            running = {duty4} if duty_on else set()
            if assist_on:
                running.add(assist)
            cmd401 = 1.0 if 1 in running else 0.0
            cmd402 = 1.0 if 2 in running else 0.0
            cmd403 = 1.0 if 3 in running else 0.0

            # -- PLC2: chlorine dosing PI on the residual, only while water flows
            if q301 > 20.0:
                # Flow-paced feed-forward, trimmed by a PI on the measured residual.
                error = sp_CSP202[t] - rcl
                integral202 = min(30.0, max(-30.0, integral202 + 0.004 * error))
                paced = sp_CSP202[t] * r301 / (0.9 * HYPOCHLORITE_STRENGTH * 0.2)
                sit_decided = min(100.0, max(0.0, paced + 12.0 * error + integral202))
            else:
                sit_decided = 0.0
            sit202 = sit_decided

            # -- PLC5: altitude valves close on a full tank; zone B booster on pressure
            if r501 > 6.0:
                open501 = False
            elif r501 < 5.7:
                open501 = True
            if r502 > 6.0:
                open502 = False
            elif r502 < 5.6:
                open502 = True
            target501 = 100.0 if open501 else 0.0
            target502 = 100.0 if open502 else 0.0
            psp = sp_PSP502[t]
            if rp502 < psp:
                booster = 1.0
            elif rp502 > psp + 1.0:
                booster = 0.0
            else:
                booster = run501
            cmd501 = booster

            # -- an attacker's forced outputs win over the PLC's decisions
            if forcing:
                cmd101 = command("P101_CMD", t, cmd101)
                cmd102 = command("P102_CMD", t, cmd102)
                cmd301 = command("P301_CMD", t, cmd301)
                cmd401 = command("P401_CMD", t, cmd401)
                cmd402 = command("P402_CMD", t, cmd402)
                cmd403 = command("P403_CMD", t, cmd403)
                cmd501 = command("P501_CMD", t, cmd501)
                target_mv = command("MV301", t, target_mv)
                target501 = command("MV501", t, target501)
                target502 = command("MV502", t, target502)
                sit202 = command("SIT202", t, sit202)

            # -- physics: pumps run on last second's command, valves travel, flows lag,
            # tanks integrate
            mv301 += max(-2.0, min(2.0, target_mv - mv301))  # 2 %/s
            mv501 += max(-1.0, min(1.0, target501 - mv501))  # 100 s stroke
            mv502 += max(-1.0, min(1.0, target502 - mv502))
            q_intake += ((run101 + run102) * RIVER_PUMP_FLOW - q_intake) * 0.2
            q301 += (VALVE_GAIN * mv301 * (1.0 if l101 > 0.05 else 0.0) - q301) * 0.2
            q302 += (run301 * BACKWASH_FLOW * (1.0 if l401 > 0.05 else 0.0) - q302) * 0.2
            w501, w502 = 0.55 * mv501, 0.45 * mv502
            open_share = w501 + w502
            pumps = run401 + run402 + run403
            q401 += (
                pumps * HIGH_LIFT_FLOW * (1.0 if (open_share > 0 and l401 > 0.05) else 0.0) - q401
            ) * 0.2
            q501 = q401 * w501 / open_share if open_share > 0 else 0.0
            q502 = q401 - q501
            l101 = max(0.0, l101 + (q_intake - q301) * to_area["T101"])
            l401 = max(0.0, l401 + (q301 - q302 - q401) * to_area["T401"])
            l501 = max(0.0, l501 + (q501 - (da if l501 > 0.05 else 0.0)) * to_area["T501"])
            l502 = max(0.0, l502 + (q502 - (db if l502 > 0.05 else 0.0)) * to_area["T502"])
            if bw_state == 1:
                dp301 += (18.0 - dp301) * 0.005
            else:
                dp301 += dp_rate * turbidity[t] * q301
            # The residual relaxes (20 min) toward what the dose makes of the inflow.
            if q301 > 20.0:
                made = 0.9 * HYPOCHLORITE_STRENGTH * 0.2 * sit202 / q301
                chlorine += (made - chlorine) / 1200.0
            else:
                chlorine -= chlorine * 1e-5

            row = (  # LOOP_COLUMNS, in order
                r101,
                q_intake,
                cmd101,
                cmd102,
                run101,
                run102,
                duty1,
                r301,
                mv301,
                rdp,
                bw_state,
                cmd301,
                run301,
                q302,
                production,
                r401,
                q401,
                cmd401,
                cmd402,
                cmd403,
                run401,
                run402,
                run403,
                duty4,
                rcl,
                sit202,
                r501,
                r502,
                mv501,
                mv502,
                q501,
                q502,
                cmd501,
                run501,
                rp502,
                l101,
                q301,
                dp301,
                l401,
                chlorine,
                l501,
                l502,
                p502,
            )
            rows.append(row)
            g += 1
            if keep is not None and len(rows) > keep + 600:  # what no replay reaches now
                del rows[:-keep]
                base = g - keep
            yield row
            # Pumps answer their command one second later.
            run101, run102, run301 = cmd101, cmd102, cmd301
            run401, run402, run403, run501 = cmd401, cmd402, cmd403, cmd501
        stretch = next(pending, None)


@dataclass
class DayTank:
    """A chemical day tank: drawn down by dosing, refilled by a delivery when low.

    Kept across calls so a live plant, fed a second at a time, gives exactly the
    levels one call over the whole run gives."""

    start: float
    refill_below: float
    refill_to: float
    used: float = 0.0  # everything drawn so far
    deliveries: list[float] = field(default_factory=list)  # what each delivery added

    def levels(self, use_per_s: np.ndarray) -> np.ndarray:
        drawn = np.cumsum(np.concatenate(([self.used], use_per_s)))[1:]
        self.used = float(drawn[-1]) if len(drawn) else self.used
        level = self.start - drawn
        for delivery in self.deliveries:
            level += delivery
        while True:  # one pass per delivery: a handful a week
            low = np.flatnonzero(level < self.refill_below)
            if len(low) == 0:
                return level
            added = self.refill_to - level[low[0]]
            level[low[0] :] += added
            self.deliveries.append(float(added))


def day_tanks() -> dict[str, DayTank]:
    """LIT201 (coagulant) and LIT202 (hypochlorite) as a plant starts."""
    return {"LIT201": DayTank(2.2, 0.6, 2.6), "LIT202": DayTank(1.6, 0.4, 1.8)}


def operator_setpoints(start: pd.Timestamp, inputs: Inputs, manipulations: Manipulations) -> None:
    """The operator retunes the coagulant dose to the raw turbidity at 08:00 and 20:00."""
    n = manipulations.n
    seconds = (start - start.normalize()).total_seconds() + np.arange(n)
    shift = np.flatnonzero(np.isin(seconds % DAY, (8 * 3600, 20 * 3600)))
    dose = manipulations.array("setpoints", "DSP201")
    untouched = dose == SETPOINT_DEFAULTS["DSP201"]  # an attack's tampering stays
    changes = np.concatenate(([0], shift, [n]))
    for begin, end in itertools.pairwise(changes):
        retuned = round(16.0 + 1.5 * float(inputs.raw_turbidity[begin]))
        dose[begin:end] = np.where(untouched[begin:end], retuned, dose[begin:end])


def simulate_plant(
    start: pd.Timestamp, n: int, manipulations: Manipulations, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(readings as the SCADA records them, one column per tag; the true values)."""
    inputs = make_inputs(start, n, rng)
    operator_setpoints(start, inputs, manipulations)
    loop = run_plc_loop(start, inputs, manipulations, rng)
    noise = reading_noise(n, rng)
    setpoints = {tag: manipulations.setpoint(tag) for tag in SETPOINT_DEFAULTS}
    out = readings(loop, inputs, setpoints, noise, day_tanks())
    scada = pd.DataFrame({tag: out[tag] for tag in TAG_NAMES})
    truth = pd.DataFrame(loop[:, TRUE_COLUMNS], columns=[name[5:] for name in TRUE_NAMES])
    return scada, truth


def reading_noise(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every sensor's noise, drawn after the loop (control sensors use theirs in it)."""
    return {tag: rng.normal(0.0, sigma, n) for tag, sigma in NOISE.items()}


TRUE_NAMES = tuple(name for name in LOOP_COLUMNS if name.startswith("true_"))
TRUE_COLUMNS = [_COLUMN[name] for name in TRUE_NAMES]


def readings(
    loop: np.ndarray,
    inputs: Inputs,
    setpoints: Mapping[str, np.ndarray],
    noise: Mapping[str, np.ndarray],
    tanks: Mapping[str, DayTank],
) -> dict[str, np.ndarray]:
    """Every tag's reading (tag -> values) for rows of the loop, with the inputs, setpoints
    and noise of the same seconds. Row by row or all at once, the values are the same."""
    col = {name: loop[:, i] for i, name in enumerate(LOOP_COLUMNS)}
    out: dict[str, np.ndarray] = {name: col[name] for name in LOOP_COLUMNS if name in BY_NAME}
    for tag in SETPOINT_DEFAULTS:
        if tag != "FSP301":  # the cascade's output, recorded by the loop
            out[tag] = setpoints[tag]

    river_pumps = col["P101_RUN"] + col["P102_RUN"]
    out["PIT101"] = np.where(
        river_pumps > 0, 1.3 + 0.25 * river_pumps - 0.04 * col["true_LIT101"], 0.2
    )
    out["AIT101"], out["AIT102"], out["AIT103"] = (
        inputs.raw_turbidity,
        inputs.raw_ph,
        inputs.raw_temperature,
    )
    flow = col["true_FIT301"]
    out["FIT201"] = out["DSP201"] * np.maximum(flow, 0) / COAGULANT_STRENGTH
    out["SIT201"] = np.clip(out["FIT201"] / 60.0 * 100.0, 0, 100)
    out["P201_RUN"] = (flow > 20.0).astype(float)
    out["LIT201"] = tanks["LIT201"].levels(out["FIT201"] / 3600.0 / 1000.0 / 2.0)
    out["AIT201"] = inputs.raw_ph - 0.012 * out["DSP201"]
    out["FIT202"] = 0.2 * col["SIT202"]
    out["P202_RUN"] = (col["SIT202"] > 0.5).astype(float)
    out["LIT202"] = tanks["LIT202"].levels(out["FIT202"] / 3600.0 / 1000.0 / 0.8)
    ripening = col["BW301_STATE"] == 2
    breakthrough = 1.0 + np.clip((col["true_DPIT301"] - 50.0) / 40.0, 0.0, None)
    out["AIT301"] = (0.04 + 0.012 * inputs.raw_turbidity) * breakthrough + 0.35 * ripening
    high_lift = col["P401_RUN"] + col["P402_RUN"] + col["P403_RUN"]
    out["PIT401"] = np.where(
        high_lift > 0,
        (col["true_LIT501"] + 32.0) / 10.2 + 1.5e-6 * col["FIT401"] ** 2,
        col["true_LIT401"] / 10.2,
    )
    out["AIT402"] = out["AIT201"] + 0.35
    out["AIT403"] = 0.9 * out["AIT301"]
    served_a = np.where(col["true_LIT501"] > 0.05, inputs.demand_a, 0.0)
    served_b = np.where(col["true_LIT502"] > 0.05, inputs.demand_b, 0.0)
    out["FIT503"], out["FIT504"] = served_a, served_b
    out["PIT501"] = (col["true_LIT501"] + 28.0) / 10.2 - 3e-6 * served_a**2

    for tag in NOISE:
        if tag not in CONTROL_SENSORS:  # control readings got their noise in the loop
            out[tag] = out[tag] + noise[tag]
    for tag, meta in BY_NAME.items():
        values = out[tag]
        if meta.unit in ("m3/h", "L/h"):
            values = np.where(values < 0.01 * meta.high, 0.0, values)  # low-flow cutoff
        out[tag] = np.clip(values, meta.low, meta.high)
    return out


def quantize(scada: pd.DataFrame) -> pd.DataFrame:
    """Values as the SCADA reads them from 16-bit registers: multiples of 1/scale."""
    return pd.DataFrame(
        {
            tag: np.round(scada[tag].to_numpy() * BY_NAME[tag].scale) / BY_NAME[tag].scale
            for tag in scada.columns
        }
    )
