"""The room at a glance, from the recorded checks: each participant's latest verdict
per exercise, how each exercise is going, who needs help, how each team stands.

Kept in memory by the room service (replayed from the store at start, then one
check at a time), so the room view costs no database work.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from icslab.room.exercises import Module
from icslab.room.store import Check
from icslab.roster import Member


@dataclass
class Cell:
    """One participant and one exercise."""

    verdict: str = "not answered"
    hinted: bool = False
    attempts: int = 0  # answers checked (a `...` left in place is not an attempt)
    wrong_in_a_row: int = 0
    ever_correct: bool = False
    at: float = 0.0


@dataclass(frozen=True)
class Server:
    """A participant's server as the hub reports it."""

    running: bool
    started: float | None = None  # seconds since the epoch
    last_activity: float | None = None


@dataclass(frozen=True)
class TeamNews:
    """What the hand-in store and the leaderboard say of a team."""

    homework: float | None = None
    capstone: float | None = None
    rank: int | None = None


@dataclass
class Progress:
    modules: list[Module]
    members: list[Member]
    stuck_attempts: int
    quiet_minutes: int
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    last_check: dict[str, float] = field(default_factory=dict)

    @property
    def exercises(self) -> list[str]:
        return [name for module in self.modules for name in module.exercises]

    def add(self, check: Check) -> None:
        cell = self.cells.setdefault((check.user, check.exercise), Cell())
        cell.verdict, cell.hinted, cell.at = check.verdict, check.hinted, check.at
        if check.verdict != "not answered":
            cell.attempts += 1
        if check.verdict == "correct":
            cell.ever_correct = True
            cell.wrong_in_a_row = 0
        elif check.verdict == "not yet":
            cell.wrong_in_a_row += 1
        self.last_check[check.user] = max(check.at, self.last_check.get(check.user, 0.0))

    def view(self, now: float, servers: dict[str, Server], news: dict[str, TeamNews]) -> dict:
        participants = [m for m in self.members if m.role == "participant"]
        by_team: dict[str, list[Member]] = defaultdict(list)
        for member in participants:
            by_team[member.team].append(member)
        return {
            "generated": _iso(now),
            "modules": [{"title": m.title, "exercises": list(m.exercises)} for m in self.modules],
            "exercises": {name: self._exercise(name, participants) for name in self.exercises},
            "teams": [
                self._team(team, members, servers, news.get(team, TeamNews()))
                for team, members in sorted(by_team.items())
            ],
            "needs_help": [
                {"user": m.username, "team": m.team, "reason": reason}
                for m in participants
                for reason in [self._needs_help(m.username, now, servers.get(m.username))]
                if reason
            ],
        }

    def _exercise(self, name: str, participants: list[Member]) -> dict:
        cells = [self.cells.get((m.username, name)) for m in participants]
        tried = [cell for cell in cells if cell and cell.attempts]
        right = sum(cell.verdict == "correct" for cell in tried)
        return {
            "right": right,
            "failed": len(tried) - right,
            "median_attempts": statistics.median(c.attempts for c in tried) if tried else None,
        }

    def _team(self, team: str, members: list[Member], servers: dict, news: TeamNews) -> dict:
        solved = {
            name
            for m in members
            for name in self.exercises
            if (cell := self.cells.get((m.username, name))) and cell.ever_correct
        }
        return {
            "name": team,
            "modules_done": sum(set(module.exercises) <= solved for module in self.modules),
            "last_homework": _iso(news.homework),
            "last_capstone": _iso(news.capstone),
            "rank": news.rank,
            "members": [self._member(m.username, servers.get(m.username)) for m in members],
        }

    def _member(self, user: str, server: Server | None) -> dict:
        cells = {}
        for name in self.exercises:
            cell = self.cells.get((user, name))
            if cell:
                cells[name] = {
                    "verdict": cell.verdict,
                    "attempts": cell.attempts,
                    "hinted": cell.hinted,
                    "at": _iso(cell.at),
                }
        return {
            "user": user,
            "server": "running" if server and server.running else "stopped",
            "last_activity": _iso(server.last_activity if server else None),
            "last_check": _iso(self.last_check.get(user)),
            "cells": cells,
        }

    def _needs_help(self, user: str, now: float, server: Server | None) -> str | None:
        stuck = [
            (cell.wrong_in_a_row, name)
            for name in self.exercises
            if (cell := self.cells.get((user, name)))
            and cell.verdict == "not yet"
            and cell.wrong_in_a_row >= self.stuck_attempts
        ]
        if stuck:
            count, name = max(stuck)
            return f"{count} wrong answers in a row to {name}"
        if server and server.running:
            since = max(self.last_check.get(user, 0.0), server.started or 0.0)
            quiet = (now - since) / 60
            if since and quiet >= self.quiet_minutes:
                return f"no self-check for {quiet:.0f} min while their server runs"
        return None


def _iso(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
