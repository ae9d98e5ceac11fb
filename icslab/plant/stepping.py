"""The water works simulator, one second at a time, as a live plant runs it.

The offline simulator (icslab.sim) computes a whole run at once. Here the same
code is stepped: `plc_steps` is the loop both use, fed one day at a time (the
inputs and noise of a day drawn at its start, from the seed), and `readings`
turns each second's row into every tag's value, as offline. With the same seed and
start and no attack, the values are the same as `icslab.sim.simulate` gives, second
for second (tests/unit/test_plant_stepping.py).

Attacks are launched while it runs: `launch` writes into the manipulations of the
seconds still to come, through the same `apply_action` the datasets use, so they act
through what the PLCs read, command or aim for, as offline.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from icslab.sim.attacks import Action, Applied, Window, apply_action
from icslab.sim.tags import BY_NAME, TAG_NAMES
from icslab.sim.waterworks import (
    CONTROL_SENSORS,
    DAY,
    NOISE,
    SETPOINT_DEFAULTS,
    Inputs,
    Manipulations,
    Stretch,
    day_tanks,
    make_inputs,
    operator_setpoints,
    plc_steps,
    readings,
)

MAX_REPLAY_LAG = 2 * 3600  # s: how far back a live replay may reach
KEEP = MAX_REPLAY_LAG + 60  # seconds of the past kept for replays and frozen readings
REGISTERED = np.array([BY_NAME[tag].scale for tag in TAG_NAMES])


class _At:
    """An array read one second at a time as a plain Python number, as offline."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def __getitem__(self, t: int):
        return self.values[t].item()


class _Drawn:
    """One sensor's noise for a day, as offline draws it (rng.normal(0, sigma, DAY)), made
    an hour at a time when the plant gets there: draws in pieces give the same numbers,
    and a plant then holds an hour of noise, not a day (20 MB less)."""

    HOUR = 3600

    def __init__(self, rng: np.random.Generator, sigma: float):
        self.rng, self.sigma = copy.deepcopy(rng), sigma
        self.hour, self.values = -1, np.empty(0)
        for _ in range(DAY // self.HOUR):  # the day's rng moves past this sensor's draws
            rng.normal(0.0, sigma, self.HOUR)

    def __getitem__(self, t: int) -> float:
        hour = t // self.HOUR
        if hour < self.hour:
            raise IndexError("a plant's noise is read forward only")
        while self.hour < hour:
            self.values, self.hour = self.rng.normal(0.0, self.sigma, self.HOUR), self.hour + 1
        return self.values[t % self.HOUR].item()


def _drawn(tags, rng: np.random.Generator) -> dict[str, _Drawn]:
    """The noise of `tags`, drawn in this order (as loop_noise and reading_noise do)."""
    return {tag: _Drawn(rng, NOISE[tag]) for tag in tags}


class _Kind(Mapping):
    """One kind of manipulation (e.g. "force") of a day, tag -> its seconds, read as
    the day's manipulations are now: an attack launched later is seen from then on."""

    def __init__(self, day: _Day, kind: str):
        self.day, self.kind = day, kind

    def _store(self) -> dict[str, np.ndarray]:
        return getattr(self.day.manipulations, self.kind)

    def __getitem__(self, tag: str) -> _At:
        return _At(self._store()[tag])

    def __iter__(self):
        return iter(self._store())

    def __len__(self) -> int:
        return len(self._store())


class _Setpoint:
    def __init__(self, day: _Day, tag: str):
        self.day, self.tag = day, tag

    def __getitem__(self, t: int) -> float:
        values = self.day.manipulations.setpoints.get(self.tag)
        return SETPOINT_DEFAULTS[self.tag] if values is None else values[t].item()


class _AnyAt:
    """Whether a control sensor's reading (or an output) is manipulated at second t,
    as offline precomputes it."""

    def __init__(self, day: _Day, sensors: bool):
        self.day, self.sensors = day, sensors

    def __getitem__(self, t: int) -> bool:
        m = self.day.manipulations
        if not self.sensors:
            return any(v[t] == v[t] for v in m.force.values())  # a value, not NaN
        return any(
            (tag in m.offset and m.offset[tag][t] != 0)
            or (tag in m.override and m.override[tag][t] == m.override[tag][t])
            or (tag in m.freeze and bool(m.freeze[tag][t]))
            or (tag in m.replay_lag and m.replay_lag[tag][t] > 0)
            for tag in CONTROL_SENSORS
        )


@dataclass
class _Day:
    """One day's stretch: its inputs and noise, drawn at its start, and its attacks."""

    index: int
    start: pd.Timestamp
    rng: np.random.Generator
    inputs: Inputs
    manipulations: Manipulations
    loop_noise: dict[str, _Drawn]
    noise: dict[str, _Drawn] | None = None  # every sensor's, drawn after the loop's

    def stretch(self) -> Stretch:
        return Stretch(
            start=self.start,
            n=DAY,
            demand_a=_At(self.inputs.demand_a),
            demand_b=_At(self.inputs.demand_b),
            turbidity=_At(self.inputs.raw_turbidity),
            noise=self.loop_noise,
            setpoints={tag: _Setpoint(self, tag) for tag in SETPOINT_DEFAULTS},
            force=_Kind(self, "force"),
            offset=_Kind(self, "offset"),
            override=_Kind(self, "override"),
            freeze=_Kind(self, "freeze"),
            replay_lag=_Kind(self, "replay_lag"),
            manipulated=_AnyAt(self, sensors=True),
            forced_any=_AnyAt(self, sensors=False),
        )


@dataclass(frozen=True)
class Launched:
    """An attack under way or done: ground truth for scoring, never for participants."""

    action: Action
    start: int  # second of the run, inclusive
    end: int  # exclusive
    # What it falsifies in the recordings of sensors no PLC reads (apply_action's post).
    recorded: tuple[Action, ...] = ()


@dataclass
class LivePlant:
    """The plant from `start`, a second per `step()`; `seed` draws its weather and noise.

    The first day is the offline simulation of the same seed, start and 24 hours; each
    further day draws its own inputs from (seed, day) and carries the state over."""

    seed: int
    start: pd.Timestamp
    second: int = 0  # seconds stepped so far
    launched: list[Launched] = field(default_factory=list)
    _days: dict[int, _Day] = field(default_factory=dict)
    # What was recorded, the last KEEP seconds (row s at s % KEEP): replays read it.
    _recent: np.ndarray = field(default_factory=lambda: np.zeros((KEEP, len(TAG_NAMES))))
    _frozen: dict[tuple[int, str], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tanks = day_tanks()
        first = self._day(0)
        self._steps = plc_steps(self._stretches(first), first.rng, keep=KEEP)

    def step(self) -> tuple[pd.Timestamp, dict[str, float]]:
        """The next second: its time and every tag's value as its register holds it."""
        day_index, t = divmod(self.second, DAY)
        row = next(self._steps)  # the first step of a day may draw the day (and rng)
        day = self._days[day_index]
        if day.noise is None:  # drawn after the loop's own, as offline
            day.noise = _drawn(NOISE, day.rng)
        m = day.manipulations
        window = slice(t, t + 1)
        values = readings(
            np.array([row]),
            Inputs(*(getattr(day.inputs, f)[window] for f in Inputs.__dataclass_fields__)),
            {tag: m.setpoint(tag)[window] for tag in SETPOINT_DEFAULTS},
            {tag: np.array([noise[t]]) for tag, noise in day.noise.items()},
            self._tanks,
        )
        recorded = np.array([values[tag][0] for tag in TAG_NAMES])
        self._falsify(recorded)
        self._recent[self.second % KEEP] = recorded
        time = self.start + pd.Timedelta(seconds=self.second)
        self.second += 1
        self._days.pop(day_index - 1, None)  # a day gone: no attack can reach it now
        quantised = np.round(recorded * REGISTERED) / REGISTERED
        return time, dict(zip(TAG_NAMES, quantised.tolist(), strict=True))

    def launch(self, action: Action, seconds: int) -> Launched:
        """`action` from the next second for `seconds`, through what the PLCs read,
        command or aim for (apply_action, as the datasets)."""
        if seconds < 1:
            raise ValueError("an attack lasts at least one second")
        if action.kind == "replay" and action.lag_seconds > MAX_REPLAY_LAG:
            raise ValueError(f"a live replay reaches at most {MAX_REPLAY_LAG // 60} minutes back")
        probe = Applied(Manipulations(1))
        apply_action(action, Window(0, 1), probe, self.start)
        recorded = tuple(effect.action for effect in probe.post)
        launched = Launched(action, self.second, self.second + seconds, recorded)
        self.launched.append(launched)
        for index in range(launched.start // DAY, (launched.end - 1) // DAY + 1):
            if index in self._days:
                day = self._days[index]
                self._apply(day.manipulations, day, launched)
        return launched

    def stop(self) -> list[Launched]:
        """End every attack under way from the next second; returns those cut short."""
        cut = [a for a in self.launched if a.end > self.second]
        self.launched = [a for a in self.launched if a.end <= self.second] + [
            Launched(a.action, a.start, max(a.start, self.second), a.recorded) for a in cut
        ]
        for day in self._days.values():  # the seconds to come, without them
            day.manipulations = self._manipulations(day)
        return cut

    def _day(self, index: int) -> _Day:
        rng = np.random.default_rng([self.seed, 0] if index == 0 else [self.seed, 0, index])
        start = self.start + pd.Timedelta(seconds=index * DAY)
        inputs = make_inputs(start, DAY, rng)
        day = _Day(index, start, rng, inputs, Manipulations(DAY), {})
        day.manipulations = self._manipulations(day)
        day.loop_noise = _drawn(CONTROL_SENSORS, rng)  # after the inputs, as offline
        self._days[index] = day
        return day

    def _manipulations(self, day: _Day) -> Manipulations:
        """The day's manipulations: the operator's routine and the attacks in it."""
        m = Manipulations(DAY)
        operator_setpoints(day.start, day.inputs, m)
        for launched in self.launched:
            self._apply(m, day, launched)
        return m

    def _apply(self, m: Manipulations, day: _Day, launched: Launched) -> None:
        """`launched` into `m`, the manipulations of `day`, for its seconds to come."""
        first = day.index * DAY
        begin, until = max(launched.start, self.second, first), min(launched.end, first + DAY)
        if begin >= until:
            return
        action = launched.action
        apply_action(action, Window(begin - first, until - first), Applied(m), day.start)
        if action.kind == "sensor_drift" and action.target in CONTROL_SENSORS:
            already = begin - launched.start  # the drift goes on from where it was
            m.offset[action.target][begin - first : until - first] += action.value * already / 3600

    def _stretches(self, first: _Day) -> Iterator[Stretch]:
        yield first.stretch()
        index = 1
        while True:
            yield self._day(index).stretch()
            index += 1

    def _falsify(self, recorded: np.ndarray) -> None:
        """Attacks on sensors no PLC reads change only what is recorded (as offline's
        apply_post_effects, a second at a time)."""
        for number, launched in enumerate(self.launched):
            if launched.start <= self.second < launched.end:
                for action in launched.recorded:
                    self._falsify_one(recorded, number, launched, action)

    def _falsify_one(
        self, recorded: np.ndarray, number: int, launched: Launched, action: Action
    ) -> None:
        column, elapsed = TAG_NAMES.index(action.target), self.second - launched.start
        if action.kind == "sensor_constant":
            recorded[column] = action.value
        elif action.kind == "sensor_bias":
            recorded[column] += action.value
        elif action.kind == "sensor_drift":
            recorded[column] += action.value * elapsed / 3600
        elif action.kind == "frozen":  # what it read the second before
            held = self._frozen.setdefault((launched.start, action.target), self._past(1, column))
            recorded[column] = held
        elif action.kind == "replay":
            recorded[column] = self._past(action.lag_seconds, column)

    def _past(self, back: int, column: int) -> float:
        """What `column` recorded `back` seconds ago (at most KEEP - 1, at least the
        plant's first second)."""
        if self.second == 0:
            return float("nan")
        second = max(0, self.second - min(back, KEEP - 1))
        return float(self._recent[second % KEEP][column])
