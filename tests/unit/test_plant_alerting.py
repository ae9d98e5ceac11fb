"""A participant's alert from their notebook: bad input is refused before it leaves
the kernel, with what to fix; what the lab answers (or a lab out of reach) is an
error the notebook shows; a recorded alert prints nothing. The room service here is
a stand-in on loopback that answers what it is told to."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from icslab.lab import HUB_TOKEN_ENV, ROOM_URL_ENV
from icslab.plant.alerting import MAX_REASON, MAX_TAGS, AlertNotRecorded, alert
from icslab.sim.tags import TAG_NAMES


@pytest.fixture
def room(monkeypatch):
    """A stand-in room service: records what it got, answers `room.answer`."""

    class Room(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append((self.path, self.headers["Authorization"], body))
            status, text = state["answer"]
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args):
            pass

    got: list = []
    state = {"answer": (204, "")}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Room)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(ROOM_URL_ENV, f"http://127.0.0.1:{server.server_port}/services/icslab-room/")
    monkeypatch.setenv(HUB_TOKEN_ENV, "server-token")
    yield got, state
    server.shutdown()
    server.server_close()


def test_a_recorded_alert_goes_with_the_servers_token_and_prints_nothing(room, capsys):
    got, _ = room
    assert alert("LIT101 flat for 2 min", tags=("LIT101", "P101_RUN")) is None
    assert got == [
        (
            "/services/icslab-room/alerts",
            "token server-token",
            {"reason": "LIT101 flat for 2 min", "tags": ["LIT101", "P101_RUN"]},
        )
    ]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("reason", "tags", "says"),
    [
        ("", [], "reason: a text of 1 to 200 characters"),
        ("   ", [], "reason: a text of 1 to 200 characters"),
        ("x" * (MAX_REASON + 1), [], "reason: a text of 1 to 200 characters"),
        (42, [], "reason: a text"),
        ("flat", "LIT101", "tags: a list of tag names"),
        ("flat", ["LIT999"], "tags: not the plant's tag names: 'LIT999'"),
        ("flat", ["LIT101", "LIT101"], "tags: each tag once"),
        ("flat", TAG_NAMES[: MAX_TAGS + 1], "tags: at most 20, got 21"),
    ],
)
def test_bad_input_is_refused_in_the_notebook_with_what_to_fix(room, reason, tags, says):
    got, _ = room
    with pytest.raises(ValueError, match=r"^alert not sent: ") as refused:
        alert(reason, tags)
    assert says in str(refused.value)
    assert got == []


def test_the_limits_themselves_are_accepted(room):
    got, _ = room
    alert("x" * MAX_REASON, TAG_NAMES[:MAX_TAGS])
    alert("x", [])
    assert len(got) == 2


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ((400, "tags: each tag once\n"), "the lab refused the alert (400): tags: each tag once"),
        ((403, "alerts are scored per team, and you are in no team\n"), "(403): alerts are scored"),
        ((429, "at most 60 alerts a minute\n"), "too many alerts: at most 60 alerts a minute"),
    ],
)
def test_the_labs_refusal_is_an_error_with_its_reason(room, answer, says):
    _, state = room
    state["answer"] = answer
    with pytest.raises(AlertNotRecorded) as refused:
        alert("flat", ["LIT101"])
    assert says in str(refused.value)


def test_a_lab_out_of_reach_is_an_error(monkeypatch):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv(ROOM_URL_ENV, f"http://127.0.0.1:{port}/services/icslab-room/")
    monkeypatch.setenv(HUB_TOKEN_ENV, "server-token")
    with pytest.raises(AlertNotRecorded, match="room service cannot be reached"):
        alert("flat", ["LIT101"])


def test_outside_a_labs_server_there_is_nowhere_to_send_it(monkeypatch):
    monkeypatch.delenv(ROOM_URL_ENV, raising=False)
    monkeypatch.delenv(HUB_TOKEN_ENV, raising=False)
    with pytest.raises(AlertNotRecorded, match="run this in your lab server"):
        alert("flat", ["LIT101"])
