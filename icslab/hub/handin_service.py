"""The hand-in service: teams hand in homework and capstone predictions to the lab.

    POST <prefix>homework             JSON {"message", "notebooks": {path: notebook}}
    POST <prefix>capstone/<dataset>   the predictions CSV (icslab.capstone.submit's)
    GET  <prefix>                     the caller's team's latest hand-ins

A JupyterHub-managed service. Every request needs a hub token allowed to access
it (a participant's server sends its own, $JUPYTERHUB_API_TOKEN); the user is
whoever the hub says owns that token, their team is the roster's, the time is
this service's clock. Nothing in a request names a user, a team or a path in the
store. Answers are JSON receipts, or plain text saying what to fix.

    python -m icslab.hub.handin_service --lab-file DATA_DIR/lab.json --ip IP --port N
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from jupyterhub.services.auth import HubAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from icslab.capstone.accept import accept_predictions
from icslab.errors import InputError
from icslab.handin import accept
from icslab.handin.store import CAPSTONE, HOMEWORK, SEGMENT, Store, kind_for
from icslab.homework.accept import accept_homework
from icslab.hub.plain_errors import PlainTextErrors
from icslab.lab import Lab
from icslab.roster import teams


class HandIn(HubAuthenticated, PlainTextErrors):
    def sender(self) -> accept.Sender:
        model = self.current_user
        if model.get("kind") != "user":
            raise web.HTTPError(403, "hand in from a participant's server (a user's token)")
        user = model["name"]
        team = self.settings["team_of"].get(user)
        if team is None:
            raise web.HTTPError(403, f"{user} is in no team: only teams hand in")
        return accept.Sender(user, team, tuple(self.settings["members"][team]))

    async def store(self, accepting, *args, **kwargs) -> None:
        """Run a (slow, CPU-bound) check-and-store off the event loop, one per team at
        a time, and answer with its receipt."""
        sender = self.sender()
        work = partial(accepting, self.settings["store"], sender, *args, **kwargs)
        async with self.settings["locks"][sender.team]:
            try:
                entry = await ioloop.IOLoop.current().run_in_executor(self.settings["pool"], work)
            except InputError as error:
                raise web.HTTPError(400, "\n".join(error.problems)) from None
        self.finish(entry.receipt())


class HomeworkHandler(HandIn):
    @web.authenticated
    async def post(self) -> None:
        await self.store(accept_homework, self.request.body)


class PredictionsHandler(HandIn):
    @web.authenticated
    async def post(self, dataset: str) -> None:
        lab: Lab = self.settings["lab"]
        await self.store(accept_predictions, dataset, self.request.body, data=lab.datasets_dir)


class LatestHandler(HandIn):
    @web.authenticated
    def get(self) -> None:
        store: Store = self.settings["store"]
        team = self.sender().team
        try:
            kinds = [kind_for(), *(kind_for(d) for d in store.datasets(team))]
            latest = {kind: store.latest(team, kind) for kind in kinds}
        except InputError as error:
            raise web.HTTPError(500, "\n".join(error.problems)) from None
        self.finish({kind: entry.receipt() for kind, entry in latest.items() if entry})


def make_app(lab: Lab) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/icslab-submit/")
    by_team = teams(lab.members)
    return web.Application(
        [
            (prefix, LatestHandler),
            (url_path_join(prefix, HOMEWORK), HomeworkHandler),
            (url_path_join(prefix, CAPSTONE, f"({SEGMENT.pattern[1:-1]})"), PredictionsHandler),
        ],
        lab=lab,
        store=Store(lab.paths.submissions),
        members=by_team,
        team_of={user: team for team, users in by_team.items() for user in users},
        locks=defaultdict(asyncio.Lock),
        # Two at a time: rendering notebooks must not starve the hub of CPU.
        pool=ThreadPoolExecutor(max_workers=2, thread_name_prefix="handin"),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Receive the lab's hand-ins.")
    parser.add_argument("--lab-file", required=True, type=Path)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-body", type=int, default=accept.MAX_BYTES, help="bytes per hand-in")
    args = parser.parse_args(argv)
    lab = Lab.load(args.lab_file)
    make_app(lab).listen(args.port, args.ip, max_body_size=args.max_body)
    logging.basicConfig(level=logging.INFO, format="[icslab-submit] %(message)s")
    logging.info("hand-ins go to %s; listening on %s:%d", lab.paths.submissions, args.ip, args.port)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
