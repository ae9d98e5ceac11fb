"""Each self-check's verdict goes to the lab's room service, so instructors see who is
stuck where. Sent from a background thread with the server's own hub token: the
check never waits for the network, and a lab that cannot be reached (or no lab at
all) only means the verdict is dropped after a few tries, never an error in the
notebook. The service decides who and which team sent it."""

from __future__ import annotations

import queue
import threading

from icslab.lab import room_endpoint

TRIES = 3
PENDING = 200  # verdicts waiting while the service is away; older ones are dropped
_pending: queue.Queue[dict] = queue.Queue(PENDING)
_sender: threading.Thread | None = None
_lock = threading.Lock()


def record(exercise: str, verdict: str, hinted: bool) -> None:
    """Queue a verdict for the room service (a no-op outside a lab)."""
    if room_endpoint("checks") is None:
        return
    try:
        _pending.put_nowait({"exercise": exercise, "verdict": verdict, "hinted": hinted})
    except queue.Full:
        return
    _ensure_sender()


def wait_sent(timeout: float) -> bool:
    """Whether every queued verdict was sent (or dropped) within `timeout` seconds:
    for tests and benchmarks, never for notebooks."""
    done = threading.Event()

    def join() -> None:
        _pending.join()
        done.set()

    threading.Thread(target=join, daemon=True).start()
    return done.wait(timeout)


def _ensure_sender() -> None:
    global _sender
    with _lock:
        if _sender is None or not _sender.is_alive():
            _sender = threading.Thread(target=_send_forever, name="icslab-room", daemon=True)
            _sender.start()


def _send_forever() -> None:
    import requests

    endpoint = room_endpoint("checks")
    assert endpoint is not None, "record() starts the sender only in a lab's server"
    url, token = endpoint
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    while True:
        body = _pending.get()
        try:
            for attempt in range(TRIES):
                try:
                    answer = session.post(url, json=body, timeout=5)
                except requests.RequestException:
                    threading.Event().wait(0.5 * 2**attempt)  # the service restarting, say
                    continue
                if answer.status_code != 429:
                    break  # recorded, or refused for good (the service said why in its log)
                threading.Event().wait(0.5 * 2**attempt)
        finally:
            _pending.task_done()
