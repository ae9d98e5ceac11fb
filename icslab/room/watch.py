"""What the room service learns from the rest of the lab, every few seconds: whose
server runs and when it was last used (the hub's API, with the service's own
token), each team's latest hand-ins, and the capstone leaderboard's ranks."""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from tornado import httpclient, ioloop

from icslab.handin.store import Store, kind_for
from icslab.lab import Lab
from icslab.room.progress import Server, TeamNews
from icslab.roster import teams

EVERY = 5.0  # seconds between looks at the hub


class HubWatch:
    def __init__(self, lab: Lab):
        self.lab = lab
        self.servers: dict[str, Server] = {}
        self.news: dict[str, TeamNews] = {}
        self._ranks: dict[str, int] = {}
        self._ranked: tuple = ()
        self._ranking = ThreadPoolExecutor(1, thread_name_prefix="leaderboard")
        self._busy = False
        culler = lab.settings.culler
        self.idle_timeout = culler.idle_timeout_minutes * 60
        self.warn_before = culler.warn_minutes * 60

    def start(self) -> None:
        ioloop.PeriodicCallback(self.look, EVERY * 1000).start()
        ioloop.IOLoop.current().add_callback(self.look)

    async def look(self) -> None:
        try:
            self.servers = await self._servers()
        except Exception as error:  # the hub restarting, say: keep the last answer
            logging.warning("could not ask the hub about servers: %s", error)
        self.news = self._team_news()

    async def _servers(self) -> dict[str, Server]:
        url = os.environ["JUPYTERHUB_API_URL"].rstrip("/") + "/users"
        headers = {"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"}
        answer = await httpclient.AsyncHTTPClient().fetch(url, headers=headers, request_timeout=10)
        found = {}
        for user in json.loads(answer.body):
            server = (user.get("servers") or {}).get("")
            found[user["name"]] = Server(
                running=bool(server and server.get("ready")),
                started=_seconds(server.get("started")) if server else None,
                last_activity=_seconds(server.get("last_activity")) if server else None,
            )
        return found

    def _team_news(self) -> dict[str, TeamNews]:
        store = Store(self.lab.paths.submissions)
        news, capstone = {}, []
        for team in teams(self.lab.members):
            homework = store.latest(team, kind_for())
            handed = store.latest(team, kind_for("capstone"))
            if handed:
                capstone.append((team, handed.number))
            news[team] = TeamNews(
                homework=_seconds(homework.manifest.get("submitted_at")) if homework else None,
                capstone=_seconds(handed.manifest.get("submitted_at")) if handed else None,
                rank=self._ranks.get(team),
            )
        if tuple(capstone) != self._ranked and not self._busy:
            self._busy = True
            future = self._ranking.submit(self._rank, store)
            future.add_done_callback(lambda _: setattr(self, "_busy", False))
            self._ranked = tuple(capstone)
        return news

    def _rank(self, store: Store) -> None:
        """Score the capstone hand-ins (slow: off the event loop, one at a time)."""
        from icslab.capstone.leaderboard import build_board

        try:
            board = build_board(store, list(teams(self.lab.members)))
        except Exception as error:  # no hidden answers on this server, say
            logging.warning("no leaderboard ranks: %s", error)
            return
        self._ranks = {
            team.name: place
            for place, team in enumerate(board.teams, start=1)
            if team.results.get(board.dataset) and team.results[board.dataset].score
        }

    def idle_warning(self, user: str, now: float) -> dict | None:
        """The culler's warning, once the user's server has been idle long enough that
        the culler may stop it within warn_minutes."""
        server = self.servers.get(user)
        if not self.idle_timeout or not server or not server.running:
            return None
        last = server.last_activity or server.started
        if last is None or now - last < self.idle_timeout - self.warn_before:
            return None
        left = max(1, round((last + self.idle_timeout - now) / 60))
        return {
            "id": f"idle-{user}-{int(last)}",
            "type": "warning",
            "message": f"Your server has been idle for {(now - last) / 60:.0f} minutes: the lab "
            f"may stop it in {left} minutes unless you use it (run a cell or save a file). "
            "Your files are kept.",
        }


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
