"""The typed schema of `workshop.toml`, the one file an instructor edits.

Every setting is validated here and nowhere else. Errors name the file, the
line, the key and what is allowed, and all problems are reported at once.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from icslab.errors import InputError

MEMORY = re.compile(r"^[1-9][0-9]*(\.[0-9]+)?[KMGT]?$")


class Section(BaseModel):
    # Unknown keys are typos more often than not: refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Workshop(Section):
    title: Annotated[str, Field(min_length=1, description="shown on the hub's pages")]


class Hub(Section):
    port: int = Field(8000, ge=1, le=65535, description="port on 127.0.0.1 for browsers")
    spawner: Literal["auto", "local", "docker"] = Field(
        "auto", description="where participants' servers run; auto = docker if an engine answers"
    )
    roster: Path = Field(Path("roster.example.csv"), description="CSV relative to this file")
    default_url: str = Field("/lab", description="page a participant lands on")

    @field_validator("default_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/', e.g. '/lab'")
        return value


class Limits(Section):
    memory: str = Field("2G", description="per participant, e.g. 512M, 2G")
    cpus: float = Field(1.0, gt=0, le=64, description="per participant, fractions allowed")
    spare_kernels: int = Field(
        1, ge=0, le=4, description="kernels each server keeps started for the next notebook"
    )

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not MEMORY.match(value):
            raise ValueError("must be a size such as 512M or 2G (suffix K, M, G or T)")
        return value


class Culler(Section):
    idle_timeout_minutes: int = Field(
        60, ge=0, description="stop servers idle this long; 0 turns the culler off"
    )


class Accounts(Section):
    max_failed_logins: int = Field(5, ge=1, le=100, description="wrong passwords before a lock")
    lockout_seconds: int = Field(300, ge=1, le=86400, description="how long a lock lasts")
    min_password_length: int = Field(8, ge=6, le=128, description="for changed passwords")


class Data(Section):
    datasets: Path = Field(
        Path("../datasets/build"), description="read-only datasets folder, relative to this file"
    )


class Docker(Section):
    image: str = Field("icslab-participant:latest", min_length=1, description="participant image")
    prefix: str = Field(
        "icslab", pattern=r"^[a-z][a-z0-9-]{0,20}$", description="names of containers, volumes"
    )
    egress: bool = Field(False, description="may containers reach networks outside the lab?")
    pids_limit: int = Field(512, ge=64, le=65536, description="processes per container")


class Material(Section):
    pull_on_start: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]] = Field(
        default_factory=list,
        description="published workshops each server pulls when it starts, e.g. ['ics-week']",
    )


class WorkshopSettings(Section):
    workshop: Workshop
    hub: Hub = Hub()
    limits: Limits = Limits()
    culler: Culler = Culler()
    accounts: Accounts = Accounts()
    data: Data = Data()
    docker: Docker = Docker()
    material: Material = Material()


def load_settings(path: Path) -> WorkshopSettings:
    """Read and validate `workshop.toml`; raise InputError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: settings file not found (pass --config PATH)") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the settings file: {error.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    try:
        return WorkshopSettings.model_validate(raw)
    except ValidationError as error:
        raise InputError(*(_describe(path, text, problem) for problem in error.errors())) from None


def _describe(path: Path, text: str, problem: dict) -> str:
    keys = [str(part) for part in problem["loc"]]
    dotted = ".".join(keys)
    line = _line_of(text, keys)
    where = f"{path}:{line}" if line else str(path)
    kind = problem["type"]
    if kind == "missing":
        return f"{where}: {dotted} is required but missing"
    if kind == "extra_forbidden":
        return f"{where}: unknown setting {dotted} (check its spelling against the comments)"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {dotted} = {problem.get('input')!r}: {message}"


def _line_of(text: str, keys: list[str]) -> int | None:
    """Line number of a dotted key in a TOML text ([table] then key = ...), if written there."""
    table, key = keys[:-1], keys[-1]
    current: list[str] = []
    table_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[([^\[\]]+)\]", stripped)
        if header:
            current = [part.strip() for part in header.group(1).split(".")]
            if current == keys:
                return number
            if current == table:
                table_line = number
            continue
        if current == table and re.match(rf"^\"?{re.escape(key)}\"?\s*=", stripped):
            return number
    return table_line
