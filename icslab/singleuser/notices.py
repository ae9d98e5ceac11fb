"""A server extension: show the lab's notices in the participant's JupyterLab.

Every few seconds it asks the lab's room service, with the server's own hub token,
what this participant should see (announcements for everyone or their team, the
idle culler's warning), and hands each notice it has not shown yet to
jupyterlab-notifications-extension, which shows it as a JupyterLab notification
in every open tab.

Neither this poll nor that extension's own polling counts as the participant using
their server: otherwise an open browser tab would keep an idle server from ever
being stopped.
"""

from __future__ import annotations

import json
import os

ROOM_URL_ENV = "ICSLAB_ROOM_URL"  # set by the hub (icslab.lab.ROOM_URL_ENV)
EVERY = 5  # seconds
INGEST = "jupyterlab-notifications-extension/ingest"
# How long a notice stays on screen (ms); warnings stay until dismissed.
SHOWN_FOR = {"info": 60_000, "warning": False}


def _jupyter_server_extension_points():
    return [{"module": "icslab.singleuser.notices"}]


def _load_jupyter_server_extension(app) -> None:
    _not_activity()
    if os.environ.get(ROOM_URL_ENV) and os.environ.get("JUPYTERHUB_API_TOKEN"):
        from tornado.ioloop import PeriodicCallback

        notices = Notices(app)
        PeriodicCallback(notices.poll, EVERY * 1000).start()


def _not_activity() -> None:
    # jupyter-server's own switch for API handlers that are no sign of use.
    try:
        from jupyterlab_notifications_extension import routes
    except ImportError:
        return
    routes.NotificationFetchHandler._track_activity = False


class Notices:
    def __init__(self, app):
        self.app = app
        self.shown: set[str] = set()
        token = os.environ["JUPYTERHUB_API_TOKEN"]
        self.headers = {"Authorization": f"token {token}"}
        self.source = os.environ[ROOM_URL_ENV].rstrip("/") + "/notices"
        # This server itself, on loopback (it listens there in both modes).
        base = app.base_url.rstrip("/")
        self.ingest = f"http://127.0.0.1:{app.port}{base}/{INGEST}?no_track_activity=1"

    async def poll(self) -> None:
        from tornado.httpclient import AsyncHTTPClient

        client = AsyncHTTPClient()
        try:
            answer = await client.fetch(self.source, headers=self.headers, request_timeout=5)
            notices = json.loads(answer.body)["notices"]
        except Exception as error:  # the lab restarting, say: ask again next time
            self.app.log.debug("[icslab] no notices: %s", error)
            return
        for notice in notices:
            if notice["id"] in self.shown:
                continue
            body = {
                "message": notice["message"],
                "type": notice["type"],
                "autoClose": SHOWN_FOR.get(notice["type"], False),
                "immediate": True,
            }
            try:
                await client.fetch(
                    self.ingest,
                    method="POST",
                    body=json.dumps(body),
                    headers={**self.headers, "Content-Type": "application/json"},
                    request_timeout=5,
                )
            except Exception as error:
                self.app.log.warning("[icslab] could not show a notice: %s", error)
                continue
            self.shown.add(notice["id"])
