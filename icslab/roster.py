"""The roster: who may log in, in which team, with which role.

CSV columns `username,team,role`; role is `participant` or `instructor`.
Every problem is reported with its line before anything is started or stored.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from icslab.errors import InputError

COLUMNS = ("username", "team", "role")
ROLES = ("participant", "instructor")
# Lowercase because JupyterHub lowercases names at login; the same shape works
# as a Docker container/volume name and a folder name.
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# Group names the lab itself uses; a team may not take them.
RESERVED_GROUPS = ("participants", "instructors")

Role = Literal["participant", "instructor"]


@dataclass(frozen=True)
class Member:
    username: str
    team: str
    role: Role


def read_roster(path: Path) -> list[Member]:
    """Parse and validate a roster CSV; raise InputError listing every problem."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(f"{path}: roster not found (pass --roster CSV)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the roster: {error}") from None
    return parse_roster(rows, path)


def parse_roster(rows: list[list[str]], path: Path | str = "roster") -> list[Member]:
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise InputError(
            f"{path}:1: header must name the columns {','.join(COLUMNS)}; "
            f"missing: {', '.join(missing)}"
        )
    index = {column: header.index(column) for column in COLUMNS}
    problems: list[str] = []
    members: list[Member] = []
    first_line: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {column: _cell(row, at) for column, at in index.items()}
        username, team, role = cells["username"], cells["team"], cells["role"].lower()
        where = f"{path}:{number}"
        line_problems = _check_row(username, team, role, where)
        if username in first_line:
            line_problems.append(
                f"{where}: duplicate username {username!r} (first on line {first_line[username]})"
            )
        problems += line_problems
        first_line.setdefault(username, number)
        if not line_problems:
            members.append(Member(username, team, role))  # type: ignore[arg-type]
    if not problems and not members:
        problems.append(f"{path}: the roster has no users; add one line per person")
    if problems:
        raise InputError(*problems)
    return members


def _cell(row: list[str], at: int) -> str:
    return row[at].strip() if at < len(row) else ""


def _check_row(username: str, team: str, role: str, where: str) -> list[str]:
    problems = []
    if not username:
        problems.append(f"{where}: username is empty")
    elif not NAME.match(username):
        problems.append(
            f"{where}: invalid username {username!r}: use 1-32 lowercase letters, digits, "
            "'-' or '_', starting with a letter"
        )
    if role not in ROLES:
        problems.append(f"{where}: unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "participant" and not team:
        problems.append(f"{where}: participant {username!r} needs a team")
    if role == "instructor" and team:
        # A team's members may open each other's servers: it must never include one.
        problems.append(
            f"{where}: instructor {username!r} cannot be in team {team!r} (teammates may run "
            "code on each other's servers): leave the team column empty"
        )
    if team and not NAME.match(team):
        problems.append(
            f"{where}: invalid team {team!r}: use 1-32 lowercase letters, digits, '-' or '_', "
            "starting with a letter"
        )
    elif team in RESERVED_GROUPS:
        problems.append(f"{where}: team name {team!r} is reserved by the lab; choose another")
    return problems


def teams(members: list[Member]) -> dict[str, list[str]]:
    """Team name -> usernames, in roster order."""
    result: dict[str, list[str]] = {}
    for member in members:
        if member.team:
            result.setdefault(member.team, []).append(member.username)
    return result
