"""A server extension: pull the lab's published workshops when a server starts.

`material.pull_on_start` in lab.toml becomes $ICSLAB_PULL_ON_START (git
URLs of the lab's git service); each is pulled into `<root>/<workshop>/` with
nbgitpuller, exactly as clicking its link would (so a participant's edits are
kept), in the background: the server does not wait for it. The landing page
(icslab.singleuser.landing) does wait, for a while, for the workshop it opens.
"""

from __future__ import annotations

import os
import threading

# In the server's web settings: workshop name -> an Event set once its pull at start
# has ended (pulled or failed).
PULLED = "icslab_pulled"


def _jupyter_server_extension_points():
    return [{"module": "icslab.singleuser.autopull"}]


def _load_jupyter_server_extension(app) -> None:
    urls = os.environ.get("ICSLAB_PULL_ON_START", "").split()
    if urls:
        pulled = {workshop_of(url): threading.Event() for url in urls}
        app.web_app.settings[PULLED] = pulled
        threading.Thread(target=pull_all, args=(app, urls, pulled), daemon=True).start()


def workshop_of(url: str) -> str:
    return url.rstrip("/").split("/")[-1].removesuffix(".git")


def pull_all(app, urls: list[str], pulled: dict[str, threading.Event]) -> None:
    from nbgitpuller.pull import GitPuller

    for url in urls:
        name = workshop_of(url)
        target = os.path.join(os.path.expanduser(app.root_dir), name)
        try:
            for line in GitPuller(url, target, branch="main", depth=0, parent=app).pull():
                app.log.debug("[icslab] %s", line.rstrip())
            app.log.info("[icslab] pulled %s into %s", url, target)
        except Exception as error:  # a workshop not published yet, say: the server goes on
            app.log.warning("[icslab] could not pull %s: %s", url, error)
        finally:
            pulled[name].set()
