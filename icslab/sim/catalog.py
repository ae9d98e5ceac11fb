"""datasets/catalog.toml: the datasets a workshop uses, validated in one place.

Each published dataset names its start, length, seed and attack schedule; the sha256
of every file a build writes sits in a generated section at the end of the file. A
dataset with hidden labels names only the constraints of its attacks (`draw`): each
lab draws its seed and schedule from a secret of its own (icslab.sim.draw), so
neither the repository nor the image holds what would rebuild its labels.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from icslab.errors import InputError
from icslab.paths import CATALOG
from icslab.sim.attacks import KINDS, SENSOR_KINDS, ActionKind, AttackKind
from icslab.sim.records import STAGES
from icslab.sim.tags import BY_NAME
from icslab.sim.waterworks import FORCEABLE

CHECKSUM_MARKER = "# --- sha256 of each built file: written by `icslab datasets build --record` ---"
OFFSET = re.compile(r"^(\d+)d(\d{2}):(\d{2})$")
PLCS = {f"PLC{i}" for i in range(1, len(STAGES) + 1)}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionFields(Strict):
    """What an action (ActionSpec) and an attack (AttackSpec) share: an attack of any
    kind but "coordinated" is one action."""

    kind: AttackKind
    target: str = ""
    value: float = 0.0
    lag_minutes: int = Field(0, ge=0)
    conceal: tuple[str, ...] = ()
    function_code: Literal[5, 6, 16] = 6

    def _check_target(self) -> None:
        """That the target suits the kind (a coordinated attack has none: its actions do)."""
        tag = BY_NAME.get(self.target)
        if self.kind == "reconnaissance":
            if self.target not in PLCS:
                raise ValueError(f"target must be a PLC ({', '.join(sorted(PLCS))})")
        elif self.kind in SENSOR_KINDS:
            if tag is None or tag.kind != "sensor":
                raise ValueError(f"target {self.target!r} is not a sensor tag")
        elif self.kind == "actuator_force":
            if self.target not in FORCEABLE or (tag and tag.kind == "setpoint"):
                raise ValueError(f"target {self.target!r} is not a forceable actuator")
        elif self.kind == "setpoint_tamper":
            if tag is None or tag.kind != "setpoint":
                raise ValueError(f"target {self.target!r} is not a setpoint tag")
        elif self.kind == "modbus_injection":
            if tag is None or (self.target not in FORCEABLE and tag.kind != "setpoint"):
                raise ValueError(f"target {self.target!r} is not a writable actuator or setpoint")
        elif self.kind == "replay":
            if not self.conceal or self.lag_minutes <= 0:
                raise ValueError("replay needs `conceal` (sensors) and `lag_minutes` > 0")
            bad = [s for s in self.conceal if BY_NAME.get(s) is None or BY_NAME[s].kind != "sensor"]
            if bad:
                raise ValueError(f"conceal lists tags that are not sensors: {bad}")
            if self.target and self.target not in FORCEABLE:
                raise ValueError(f"target {self.target!r} is not a forceable actuator")


class ActionSpec(ActionFields):
    kind: ActionKind

    @model_validator(mode="after")
    def _target_fits_kind(self) -> Self:
        self._check_target()
        return self


class AttackSpec(ActionFields):
    at: str = Field(description="offset from the dataset's start, e.g. 1d14:30")
    minutes: float = Field(gt=0)
    actions: tuple[ActionSpec, ...] = ()

    @field_validator("at")
    @classmethod
    def _offset(cls, value: str) -> str:
        if not OFFSET.match(value):
            raise ValueError("write the offset as <days>d<HH>:<MM>, e.g. 0d02:30")
        return value

    @model_validator(mode="after")
    def _target_fits_kind(self) -> Self:
        if self.kind == "coordinated":
            if len(self.actions) < 2:
                raise ValueError("a coordinated attack needs at least two `actions`")
            return self
        self._check_target()
        return self

    @property
    def offset_seconds(self) -> int:
        match = OFFSET.match(self.at)
        assert match is not None, "the `at` field validator accepted only offsets OFFSET matches"
        days, hours, minutes = (int(part) for part in match.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60


class DrawSpec(Strict):
    """What the catalog says of a hidden set's attacks; the lab's secret says the rest
    (when, on what, how hard): see icslab.sim.draw."""

    attacks: int = Field(gt=0)
    kinds: tuple[AttackKind, ...] = KINDS  # each at least once
    minutes: tuple[int, int] = (10, 120)  # shortest and longest attack
    gap_minutes: int = Field(60, ge=10)  # quiet time before, between and after attacks
    # (kind, target) never drawn as an attack of its own; load_catalog adds every pair a
    # published set labels.
    avoid: tuple[tuple[str, str], ...] = ()

    @model_validator(mode="after")
    def _consistent(self):
        if not self.kinds or len(set(self.kinds)) != len(self.kinds):
            raise ValueError("`kinds` lists each kind once")
        if self.attacks < len(self.kinds):
            raise ValueError(f"{self.attacks} attacks cannot show all {len(self.kinds)} kinds")
        if not 1 <= self.minutes[0] <= self.minutes[1]:
            raise ValueError("`minutes` is [shortest, longest], at least 1")
        return self


class DatasetSpec(Strict):
    description: str
    start: datetime
    hours: float = Field(gt=0, le=24 * 31)
    seed: int | None = Field(None, ge=0)
    attacks: tuple[AttackSpec, ...] = ()
    # Hidden labels (an unseen attack set to score teams on): the build writes labels.csv
    # to OUT/.answers/NAME/ for the instructors, never into the dataset's folder.
    hidden_labels: bool = False
    draw: DrawSpec | None = None  # hidden labels: seed and attacks drawn per lab
    sha256: dict[str, str] = {}

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the start in UTC, e.g. 2026-03-02T00:00:00Z")
        return value.astimezone(UTC)

    @property
    def seconds(self) -> int:
        return round(self.hours * 3600)

    @model_validator(mode="after")
    def _schedule_fits(self):
        if self.seed is None and self.draw is None:
            raise ValueError("give a `seed` (or, for hidden labels, `draw`)")
        if self.draw and not self.hidden_labels:
            raise ValueError("`draw` is for hidden labels: a published set has a fixed seed")
        if draw := self.draw:
            needed = draw.attacks * draw.minutes[1] + (draw.attacks + 1) * draw.gap_minutes
            if needed * 60 > self.seconds:
                raise ValueError(f"`draw` may need {needed} minutes: more than the dataset")
        spans = []
        for index, attack in enumerate(self.attacks):
            begin = attack.offset_seconds
            end = begin + round(attack.minutes * 60)
            if end > self.seconds:
                raise ValueError(f"attacks[{index}] ({attack.at}) ends after the dataset")
            lags = [attack.lag_minutes, *(a.lag_minutes for a in attack.actions)]
            if max(lags) * 60 > begin:
                raise ValueError(f"attacks[{index}] replays from before the dataset starts")
            spans.append((begin, end, index))
        spans.sort()
        for (_, end, first), (begin, _, second) in itertools.pairwise(spans):
            if begin < end:
                raise ValueError(f"attacks[{first}] and attacks[{second}] overlap")
        return self


class Catalog(Strict):
    version: Literal[1]
    datasets: dict[str, DatasetSpec]

    @model_validator(mode="after")
    def _hidden_sets_are_drawn(self):
        # A seed or schedule in the (public) catalog would let anyone re-simulate the set
        # and diff it: its labels would not be hidden. Its checksums differ in every lab.
        for name, spec in self.datasets.items():
            fixed = spec.seed is not None or spec.attacks or spec.sha256
            if spec.hidden_labels and (spec.draw is None or fixed):
                raise ValueError(
                    f"datasets.{name}: labels are hidden, so its seed and attacks are drawn "
                    "per lab: give `draw`, no `seed`, `attacks` or checksums"
                )
        return self


def labelled_pairs(spec: DatasetSpec) -> set[tuple[str, str]]:
    """(kind, target) of every action the set's labels show."""
    return {(a.kind, a.target) for attack in spec.attacks for a in attack.actions or (attack,)}


def load_catalog(path: Path = CATALOG) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
        catalog = Catalog.model_validate(tomllib.loads(text))
    except FileNotFoundError:
        raise InputError(f"{path}: dataset catalog not found") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    except ValidationError as error:
        raise InputError(*(f"{path}: {_problem(problem)}" for problem in error.errors())) from None
    # Participants have seen the published sets' labels: a hidden set shows them nothing old.
    seen = set().union(*(labelled_pairs(s) for s in catalog.datasets.values() if not s.draw))
    datasets = {
        name: spec.model_copy(update={"draw": _avoiding(spec.draw, seen)}) if spec.draw else spec
        for name, spec in catalog.datasets.items()
    }
    return catalog.model_copy(update={"datasets": datasets})


def _problem(problem) -> str:
    where = ".".join(str(part) for part in problem["loc"])  # empty: the whole catalog's
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _avoiding(draw: DrawSpec, pairs: set[tuple[str, str]]) -> DrawSpec:
    return draw.model_copy(update={"avoid": tuple(sorted(pairs | set(draw.avoid)))})


def select(catalog: Catalog, names: list[str] | None) -> dict[str, DatasetSpec]:
    """The named datasets (all when none are named); unknown names are an error."""
    if not names:
        return dict(catalog.datasets)
    unknown = [name for name in names if name not in catalog.datasets]
    if unknown:
        known = ", ".join(catalog.datasets)
        problems = [f"unknown dataset {name!r}: the catalog has {known}" for name in unknown]
        raise InputError(*problems)
    return {name: catalog.datasets[name] for name in names}


def record_checksums(path: Path, checksums: dict[str, dict[str, str]]) -> None:
    """Rewrite the generated checksum section at the end of the catalog."""
    text = path.read_text(encoding="utf-8")
    head = text.split(CHECKSUM_MARKER)[0].rstrip() + "\n\n" + CHECKSUM_MARKER + "\n"
    known = load_catalog(path)
    merged = {name: dict(spec.sha256) for name, spec in known.datasets.items()}
    for name, files in checksums.items():
        merged[name] = files
    sections = []
    for name, files in merged.items():
        if files:
            rows = "\n".join(f'"{file}" = "{digest}"' for file, digest in sorted(files.items()))
            sections.append(f"[datasets.{name}.sha256]\n{rows}\n")
    path.write_text(head + "\n".join(sections), encoding="utf-8")
