"""A team's alert, raised from a participant's notebook when their detector fires:

    icslab.plant.alerting.alert("LIT101 flat for 2 min", tags=["LIT101"])

It goes to the lab's room service with the server's own hub token, as self-checks'
verdicts do (icslab.checks.recording), but synchronously: the participant must know
the lab has it, so a refusal or a lab out of reach is an error in the notebook. The
service stamps the time, the user and the team; the body holds only the reason and
the tags. What is valid is said once, here, for the notebook and the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from icslab.lab import room_endpoint
from icslab.sim.tags import TAG_NAMES

MAX_REASON = 200  # characters: one line on the instructors' board
MAX_TAGS = 20
FIELDS = ("reason", "tags")
_KNOWN = frozenset(TAG_NAMES)


class AlertNotRecorded(RuntimeError):
    """The lab refused the alert or could not be reached: it is not scored."""


def refusal(reason: Any, tags: Any) -> str | None:
    """What is wrong with an alert, as the line to fix it; None when it is valid."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        return f"reason: a text of 1 to {MAX_REASON} characters saying what your detector saw"
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        return "tags: a list of tag names, such as ['LIT101', 'P101']"
    if len(tags) > MAX_TAGS:
        return f"tags: at most {MAX_TAGS}, got {len(tags)}"
    unknown = [t for t in tags if not isinstance(t, str) or t not in _KNOWN]
    if unknown:
        shown = ", ".join(repr(t)[:30] for t in unknown[:3])
        return f"tags: not the plant's tag names: {shown} (see icslab.sim.tags.TAG_NAMES)"
    if len(set(tags)) != len(tags):
        return "tags: each tag once"
    return None


def alert(reason: str, tags: Sequence[str] = ()) -> None:
    """Raise an alert for your team: the lab scores it against the attacks on your
    team's plant (time to detect, or a false alarm). Prints nothing when recorded;
    ValueError for bad input, AlertNotRecorded when the lab refuses or is away."""
    wrong = refusal(reason, tags)
    if wrong:
        raise ValueError(f"alert not sent: {wrong}")
    endpoint = room_endpoint("alerts")
    if endpoint is None:
        raise AlertNotRecorded("alerts go to a lab's room service: run this in your lab server")
    url, token = endpoint
    import requests  # here: importing icslab.plant costs a kernel nothing

    body = {"reason": reason, "tags": list(tags)}
    try:
        answer = requests.post(
            url, json=body, headers={"Authorization": f"token {token}"}, timeout=10
        )
    except requests.RequestException as error:
        raise AlertNotRecorded(
            f"the lab's room service cannot be reached ({type(error).__name__}); try again"
        ) from None
    if answer.status_code == 429:
        raise AlertNotRecorded(f"too many alerts: {answer.text.strip()}")
    if answer.status_code != 204:
        said = answer.text.strip()[:300] or answer.reason
        raise AlertNotRecorded(f"the lab refused the alert ({answer.status_code}): {said}")
