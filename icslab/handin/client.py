"""Handing in from a participant's server: an HTTP request to the lab's hand-in
service, with the server's own hub token. The service decides who and which team
that is; what the participant's environment says is only used to fail early."""

from __future__ import annotations

import os

from icslab.errors import InputError

SUBMIT_URL_ENV = "ICSLAB_SUBMIT_URL"  # set by the hub for every server
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
TIMEOUT = 300  # seconds: a team's notebooks are rendered to HTML before the answer


def in_a_lab() -> bool:
    return bool(os.environ.get(SUBMIT_URL_ENV) and os.environ.get(TOKEN_ENV))


def check_team(requested: str | None) -> None:
    """Refuse a team that is not the caller's, before sending anything."""
    mine = os.environ.get("ICSLAB_TEAM", "")
    if requested and requested != mine:
        raise InputError(
            f"team {requested!r}: you are in team {mine!r} and can only hand in for it"
            if mine
            else f"team {requested!r}: you are in no team, so you cannot hand in"
        )


def hand_in(path: str, body: bytes, content_type: str) -> dict:
    """POST `body` to the service's `path`; the receipt it answers, or an InputError
    with the service's reason."""
    import requests

    if not in_a_lab():
        raise InputError(
            "not in a lab: hand in from your JupyterLab in the lab (terminal or notebook), "
            f"where the hub sets {SUBMIT_URL_ENV}"
        )
    url = os.environ[SUBMIT_URL_ENV].rstrip("/") + "/" + path
    headers = {"Authorization": f"token {os.environ[TOKEN_ENV]}", "Content-Type": content_type}
    try:
        answer = requests.post(url, data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise InputError(f"the lab's hand-in service did not answer ({error}); try again") from None
    if answer.status_code == 413:
        raise InputError("too large for the lab: clear big outputs (Edit > Clear All Outputs)")
    if not answer.ok:
        reasons = answer.text.strip().splitlines() or [answer.reason]
        raise InputError(*reasons)
    return answer.json()
