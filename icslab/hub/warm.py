"""Pre-warm: start participants' servers before the session, so the 9:00 rush
finds them running. Goes through the hub API with the icslab-cli service's
token (DATA_DIR/cli_token), which may only start and stop participants' servers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from icslab.errors import InputError
from icslab.lab import Lab, LabPaths
from icslab.waiting import wait_for


@dataclass
class WarmResult:
    started: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def running_lab(paths: LabPaths) -> tuple[Lab, httpx.Client]:
    """The lab `icslab up` runs from this data dir, and an API client for it."""
    if not paths.lab_file.exists() or not paths.cli_token.exists():
        raise InputError(
            f"no lab in {paths.data_dir}: start one with `icslab up --data-dir {paths.data_dir}`"
        )
    lab = Lab.load(paths.lab_file)
    token = paths.cli_token.read_text().strip()
    api = httpx.Client(
        base_url=lab.hub_api_url, headers={"Authorization": f"token {token}"}, timeout=30
    )
    try:
        api.get("").raise_for_status()
    except httpx.HTTPError:
        api.close()
        raise InputError(
            f"the lab's hub at {lab.hub_api_url} does not answer: is `icslab up` running?"
        ) from None
    return lab, api


def participants(lab: Lab, team: str | None) -> list[str]:
    if team is None:
        return lab.usernames("participant")
    members = [m.username for m in lab.members if m.team == team and m.role == "participant"]
    if not members:
        teams = sorted({m.team for m in lab.members if m.team})
        raise InputError(f"no team {team!r} in the roster (teams: {', '.join(teams)})")
    return members


def warm(
    paths: LabPaths,
    team: str | None = None,
    concurrency: int = 4,
    timeout: float = 300,
    done: Callable[[str], None] | None = None,
) -> WarmResult:
    """Start every (or one team's) participant's server, `concurrency` at a time."""
    lab, api = running_lab(paths)
    names = participants(lab, team)
    result = WarmResult()
    began = time.monotonic()

    def start(name: str) -> None:
        try:
            answer = api.post(f"users/{name}/server")
            if answer.status_code == 400 and "already running" in answer.text:
                result.already.append(name)
            else:
                answer.raise_for_status()
                wait_for(lambda: _ready(api, name), timeout=timeout, what=f"{name}'s server")
                result.started.append(name)
        except (httpx.HTTPError, TimeoutError) as error:
            result.failed[name] = str(error)
        if done:
            done(name)

    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(start, names))
    finally:
        api.close()
    result.seconds = time.monotonic() - began
    return result


def _ready(api: httpx.Client, name: str) -> bool:
    server = api.get(f"users/{name}").json().get("servers", {}).get("", {})
    return bool(server.get("ready"))
