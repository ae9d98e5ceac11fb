"""The room service (a JupyterHub-managed service).

    POST <prefix>checks     a participant's server records a self-check's verdict:
                            JSON {"exercise", "verdict", "hinted"}; nothing else
    GET  <prefix>notices    a participant's server asks what to show them: the
                            current announcements for them and the culler's warning
    GET  <prefix>           the room view (instructors only): a page that updates itself
    GET  <prefix>state      what it shows, as JSON (instructors only)
    POST <prefix>alerts     a participant's server raises an alert for their team's live
                            plant: JSON {"reason", "tags"} (icslab.plant.alerting)
    GET  <prefix>plants     each team's alerts scored against its plant (instructors only)
    GET  <prefix>plant      a participant's server asks where its team's plant is

Every request needs the hub's word on who is asking (a hub token, or hub OAuth in
a browser): the user is whoever the hub says owns the token, their team the
roster's, the time this service's clock. Nothing in a request names a user or a
team. Alert tags must be the plant's, and reasons only ever reach the page as text.
Exercise names must be the lab's workshops' own, so no page ever shows a
string a participant made up.

    python -m icslab.room.service --lab-file DATA_DIR/lab.json --ip IP --port N
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections import defaultdict, deque
from pathlib import Path

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from icslab.hub import announcements
from icslab.hub.plain_errors import PlainTextErrors
from icslab.lab import Lab
from icslab.plant.alerting import FIELDS, refusal
from icslab.plant.scoring import Alert
from icslab.room import page, plants
from icslab.room.exercises import NAME, workshop_modules
from icslab.room.progress import Progress
from icslab.room.store import VERDICTS, Check, Store
from icslab.room.watch import HubWatch

# Bytes: a verdict is three short fields; the largest alert is 200 characters of
# reason, JSON-escaped to up to 12 bytes each (\ud83d\udea8), and 20 tags.
MAX_BODY = 4096
# A kernel that loops over a check cannot fill the store: this many per user a minute.
MAX_CHECKS_PER_MINUTE = 120
MAX_ALERTS_PER_MINUTE = 60  # a detector firing every second is refused, not stored


def _admit(recent: deque[float], now: float, limit: int) -> bool:
    """Whether one more in the minute before `now` stays within `limit`."""
    while recent and recent[0] < now - 60:
        recent.popleft()
    return len(recent) < limit


class Base(HubOAuthenticated, PlainTextErrors):
    def lab_user(self) -> str:
        model = self.current_user
        if model.get("kind") != "user":
            raise web.HTTPError(403, "only the lab's users are served here")
        return model["name"]

    def instructor(self) -> str:
        user = self.lab_user()
        if self.settings["roles"].get(user) != "instructor":
            raise web.HTTPError(403, "the room view is for the lab's instructors")
        return user


class CheckHandler(Base):
    @web.authenticated
    def post(self) -> None:
        user = self.lab_user()
        recent = self.settings["recent"][user]
        now = time.time()
        if not _admit(recent, now, MAX_CHECKS_PER_MINUTE):
            raise web.HTTPError(429, "too many self-checks in a minute; recorded again soon")
        check = Check(now, user, self.settings["teams"].get(user, ""), *self._verdict())
        self.settings["store"].add(check)
        self.settings["progress"].add(check)
        recent.append(now)
        self.set_status(204)
        self.finish()

    def _verdict(self) -> tuple[str, str, bool]:
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise web.HTTPError(400, "send JSON: {exercise, verdict, hinted}") from None
        if not isinstance(body, dict) or set(body) != {"exercise", "verdict", "hinted"}:
            raise web.HTTPError(400, "send exactly these fields: exercise, verdict, hinted")
        exercise, verdict, hinted = body["exercise"], body["verdict"], body["hinted"]
        if not isinstance(exercise, str) or not NAME.match(exercise):
            raise web.HTTPError(400, "exercise: a self-check's name, such as historian.levels")
        if exercise not in self.settings["known"]:
            raise web.HTTPError(400, "exercise: not a self-check of this lab's workshops")
        if verdict not in VERDICTS:
            raise web.HTTPError(400, f"verdict: one of {', '.join(VERDICTS)}")
        if not isinstance(hinted, bool):
            raise web.HTTPError(400, "hinted: true or false")
        return exercise, verdict, hinted


class AlertHandler(Base):
    @web.authenticated
    def post(self) -> None:
        user = self.lab_user()
        team = self.settings["teams"].get(user)
        if not team:
            raise web.HTTPError(403, "alerts are scored per team, and you are in no team")
        recent = self.settings["recent_alerts"][user]
        now = time.time()
        if not _admit(recent, now, MAX_ALERTS_PER_MINUTE):
            raise web.HTTPError(
                429, "at most %d alerts a minute: raise one per event, not one per reading",
                MAX_ALERTS_PER_MINUTE,
            )  # fmt: skip
        reason, tags = self._alert()
        self.settings["store"].add_alert(team, Alert(now, user, reason, tuple(tags)))
        recent.append(now)
        self.set_status(204)
        self.finish()

    def _alert(self) -> tuple[str, list[str]]:
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise web.HTTPError(400, "send JSON: {reason, tags}") from None
        if not isinstance(body, dict) or set(body) != set(FIELDS):
            raise web.HTTPError(
                400, "field not allowed or missing: send exactly reason, tags "
                "(the lab stamps the time, the user and the team)",
            )  # fmt: skip
        wrong = refusal(body["reason"], body["tags"])
        if wrong:
            raise web.HTTPError(400, "%s", wrong)
        return body["reason"], body["tags"]


class PlantHandler(Base):
    """A participant's server asks where its team's live plant is (icslab.plant.connect)."""

    @web.authenticated
    def get(self) -> None:
        from icslab.plant import lifecycle

        user = self.lab_user()
        team = self.settings["teams"].get(user)
        if not team:
            raise web.HTTPError(403, "you are in no team, and live plants are per team")
        folder = lifecycle.folder_of(self.settings["lab"], team)
        if not lifecycle.running(folder):
            raise web.HTTPError(
                404, "no live plant for team %s: an instructor starts them (icslab plant up)", team
            )
        self.set_header("Cache-Control", "no-store")
        self.finish({"team": team, "url": lifecycle.data_url(folder)})


class PlantsHandler(Base):
    @web.authenticated
    def get(self) -> None:
        self.instructor()
        lab: Lab = self.settings["lab"]
        teams = sorted(set(self.settings["teams"].values()))
        from icslab.plant import lifecycle

        def folder_of(team: str) -> Path:
            return lifecycle.folder_of(lab, team)

        shown = plants.board(folder_of, teams, self.settings["store"], time.time())
        self.set_header("Cache-Control", "no-store")
        self.finish(shown)


class NoticesHandler(Base):
    @web.authenticated
    def get(self) -> None:
        user = self.lab_user()
        lab: Lab = self.settings["lab"]
        team = self.settings["teams"].get(user)
        notices = [
            {"id": f"announce-{a.id}", "message": a.message, "type": "info"}
            for a in announcements.current(lab.paths.announcements, team)
        ]
        warning = self.settings["watch"].idle_warning(user, time.time())
        if warning:
            notices.append(warning)
        self.set_header("Cache-Control", "no-store")
        self.finish({"notices": notices})


class PageHandler(Base):
    @web.authenticated
    def get(self) -> None:
        self.instructor()
        self.set_header("Content-Security-Policy", page.CSP)
        xsrf = self.xsrf_token.decode("ascii")
        self.finish(page.html(self.settings["lab"].settings.workshop.title, xsrf))


class StateHandler(Base):
    @web.authenticated
    def get(self) -> None:
        self.instructor()
        watch: HubWatch = self.settings["watch"]
        view = self.settings["progress"].view(time.time(), watch.servers, watch.news)
        self.set_header("Cache-Control", "no-store")
        self.finish(view)


class ScriptHandler(Base):
    @web.authenticated
    def get(self, name: str) -> None:
        self.instructor()
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(page.script(name))


def make_app(lab: Lab, watch: HubWatch) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/icslab-room/")
    modules = workshop_modules(list(lab.settings.material.pull_on_start))
    store = Store(lab.paths.room)
    room = lab.settings.room
    progress = Progress(modules, list(lab.members), room.stuck_attempts, room.quiet_minutes)
    for check in store.checks():
        progress.add(check)
    return web.Application(
        [
            (prefix, PageHandler),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(prefix, "state"), StateHandler),
            (url_path_join(prefix, "checks"), CheckHandler),
            (url_path_join(prefix, "notices"), NoticesHandler),
            (url_path_join(prefix, "alerts"), AlertHandler),
            (url_path_join(prefix, "plants"), PlantsHandler),
            (url_path_join(prefix, "plant"), PlantHandler),
            (url_path_join(prefix, r"(room\.js|plotly\.js)"), ScriptHandler),
        ],
        lab=lab,
        store=store,
        progress=progress,
        watch=watch,
        known=frozenset(progress.exercises),
        teams={m.username: m.team for m in lab.members if m.team},
        roles={m.username: m.role for m in lab.members},
        recent=defaultdict(deque),
        recent_alerts=defaultdict(deque),
        cookie_secret=os.urandom(32),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record self-checks; show the room.")
    parser.add_argument("--lab-file", required=True, type=Path)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    lab = Lab.load(args.lab_file)
    logging.basicConfig(level=logging.INFO, format="[icslab-room] %(message)s")
    watch = HubWatch(lab)
    make_app(lab, watch).listen(args.port, args.ip, max_body_size=MAX_BODY)
    watch.start()
    logging.info("self-checks go to %s; listening on %s:%d", lab.paths.room, args.ip, args.port)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
