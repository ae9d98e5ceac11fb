"""A workshop's manifest, `workshops/<name>/workshop.toml`: its title and modules in order."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from icslab.errors import InputError
from icslab.paths import WORKSHOPS

MANIFEST = "workshop.toml"


class Module(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str = Field(pattern=r"^[0-9]{2}-[a-z0-9-]+\.ipynb$")
    title: str = Field(min_length=1)
    minutes: int = Field(ge=5, le=240, description="How long the hands-on work takes")
    goal: str = Field(min_length=1, description="What a participant can do afterwards")
    datasets: list[str] = Field(default_factory=list, description="Datasets the notebook reads")


class Workshop(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    description: str = ""
    modules: list[Module] = Field(min_length=1)
    exclude: list[str] = Field(
        default_factory=list,
        description="Files of the folder `icslab publish` leaves out (gitignore-style "
        "patterns, as in a .publishignore file)",
    )
    folder: Path = Field(exclude=True, default=Path())

    @field_validator("modules")
    @classmethod
    def _unique_files(cls, modules: list[Module]) -> list[Module]:
        files = [module.file for module in modules]
        if len(set(files)) != len(files):
            raise ValueError("a notebook is listed twice")
        return modules

    @property
    def name(self) -> str:
        return self.folder.name

    def source(self, module: Module) -> Path:
        return self.folder / module.file

    def module(self, file: str) -> Module:
        for module in self.modules:
            if module.file == file:
                return module
        raise InputError(
            f"{file}: not a notebook of workshop {self.name!r} "
            f"(its notebooks: {', '.join(m.file for m in self.modules)})"
        )


def available(root: Path = WORKSHOPS) -> list[str]:
    return sorted(path.parent.name for path in root.glob(f"*/{MANIFEST}"))


def load_workshop(name: str, root: Path = WORKSHOPS) -> Workshop:
    """The workshop `root/name`, validated: every problem names the file and the key."""
    folder = root / name
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(
            f"{name!r}: no such workshop (no {path}; workshops here: "
            f"{', '.join(available(root)) or 'none'})"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        workshop = Workshop.model_validate({**raw, "folder": folder})
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    except ValidationError as error:
        raise InputError(
            *(
                f"{path}: {'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
                for problem in error.errors()
            )
        ) from None
    missing = [m.file for m in workshop.modules if not workshop.source(m).is_file()]
    if missing:
        raise InputError(
            *(f"{path}: module {file}: no such notebook in {folder}" for file in missing)
        )
    return workshop
