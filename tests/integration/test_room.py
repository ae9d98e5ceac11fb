"""The instructors' room view in a real lab: participants in two teams run self-checks
from their kernels; the room records exactly those verdicts, shows them only to
instructors, keeps them across a hub restart and exports them; announcements reach
the hub's pages and participants' servers, for everyone or one team."""

import csv
import json

import pytest

from icslab.testing import RunningLab
from icslab.waiting import wait_for

pytestmark = pytest.mark.integration

ROOM = "services/icslab-room/"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("room")
    with RunningLab(folder) as running:
        yield running


@pytest.fixture(scope="module")
def checked(lab):
    p01, p03 = lab.login("p01"), lab.login("p03")
    for client in (p01, p03):
        client.start_server()
    printed = p01.self_checks("3", "3", "...", "2")
    assert "❌ welcome.sensor_count: not yet. Hint" in printed
    assert "✅ welcome.sensor_count: correct!" in printed and "sent True" in printed
    assert "sent True" in p03.self_checks("3")
    return p01, p03


def member(state, user):
    return next(m for t in state["teams"] for m in t["members"] if m["user"] == user)


def test_the_room_view_shows_exactly_the_verdicts_participants_checked(lab, checked):
    trainer = lab.login("trainer1")
    page = trainer.http.get(ROOM)
    assert page.status_code == 200 and "Room: Test lab" in page.text
    state = trainer.http.get(ROOM + "state").json()

    assert [t["name"] for t in state["teams"]] == ["power", "water"]
    assert [m["user"] for m in state["teams"][1]["members"]] == ["p01", "p02"]
    assert state["modules"][0]["exercises"] == ["welcome.sensor_count", "welcome.longest_target"]
    p01 = member(state, "p01")["cells"]
    assert p01 == {
        "welcome.sensor_count": {
            "verdict": "correct",
            "attempts": 3,  # two wrong, one right; the `...` is no attempt
            "hinted": False,
            "at": p01["welcome.sensor_count"]["at"],
        }
    }
    p03 = member(state, "p03")["cells"]["welcome.sensor_count"]
    assert (p03["verdict"], p03["attempts"], p03["hinted"]) == ("not yet", 1, True)
    assert member(state, "p02")["cells"] == {}
    assert state["exercises"]["welcome.sensor_count"] == {
        "right": 1,
        "failed": 1,
        "median_attempts": 2,
    }
    # The room looks at the hub every 5 s.
    wait_for(
        lambda: member(trainer.http.get(ROOM + "state").json(), "p01")["server"] == "running",
        timeout=15,
        what="the room to see p01's server running",
    )
    water = next(t for t in state["teams"] if t["name"] == "water")
    assert water["modules_done"] == 0  # welcome.longest_target is not solved yet


def test_participants_never_see_the_room(lab, checked):
    p01, _ = checked
    assert p01.http.get(ROOM).status_code == 403
    assert p01.http.get(ROOM + "state").status_code == 403
    assert p01.http.get(ROOM + "room.js").status_code == 403


def test_a_kernel_cannot_record_a_verdict_for_someone_else_or_make_up_an_exercise(lab, checked):
    p01, _ = checked
    post = (
        "import json, os, requests\n"
        "url = os.environ['ICSLAB_ROOM_URL'] + 'checks'\n"
        "auth = {'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']}\n"
        "def post(body):\n"
        "    return requests.post(url, json=body, headers=auth, timeout=5).status_code\n"
        "ok = {'exercise': 'welcome.longest_target', 'verdict': 'correct', 'hinted': False}\n"
        "print(json.dumps([\n"
        "    post({**ok, 'user': 'p03'}),\n"
        "    post({**ok, 'team': 'power'}),\n"
        "    post({**ok, 'exercise': '<img src=x onerror=alert(1)>.x'}),\n"
        "    post({**ok, 'exercise': 'welcome.not_an_exercise'}),\n"
        "    post({**ok, 'verdict': 'excellent'}),\n"
        "    requests.post(url, json=ok, timeout=5).status_code,\n"
        "]))\n"
    )
    answers = json.loads(p01.run_code(post).splitlines()[-1])
    assert answers[:5] == [400, 400, 400, 400, 400]
    assert answers[5] in (302, 403)  # no token: the hub's login, never a record

    state = lab.login("trainer1").http.get(ROOM + "state").json()
    assert "welcome.longest_target" not in member(state, "p03")["cells"]
    assert "welcome.longest_target" not in member(state, "p01")["cells"]


def test_a_kernel_that_floods_the_room_is_refused_after_its_share(lab, checked):
    p02 = lab.login("p02")
    p02.start_server()
    flood = (
        "import json, os, requests\n"
        "url = os.environ['ICSLAB_ROOM_URL'] + 'checks'\n"
        "auth = {'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']}\n"
        "body = {'exercise': 'welcome.sensor_count', 'verdict': 'not answered', 'hinted': False}\n"
        "with requests.Session() as s:\n"
        "    codes = [s.post(url, json=body, headers=auth).status_code for _ in range(125)]\n"
        "print(json.dumps(codes))\n"
    )
    codes = json.loads(p02.run_code(flood).splitlines()[-1])
    assert codes[:120] == [204] * 120
    assert codes[120:] == [429] * 5
    # The rest of the room is still recorded.
    assert "sent True" in lab.login("p03").self_checks("2")


def test_announcements_reach_the_hub_pages_and_the_teams_servers(lab, checked):
    p01, p03 = checked
    told = lab.icslab("announce", "Water team: stand-up at 11:00", "--team", "water")
    assert told.returncode == 0, told.stderr
    assert "Water team: stand-up at 11:00" in p01.http.get("hub/home").text
    assert "stand-up" not in p03.http.get("hub/home").text

    def shown(client):
        # What JupyterLab's notification extension would show in the participant's tab.
        url = f"{client.server_url(client.username)}jupyterlab-notifications-extension/"
        answer = client.http.get(url + "notifications", params={"no_track_activity": 1})
        return [n["message"] for n in answer.json()["notifications"]]

    seen = []
    wait_for(lambda: seen.extend(shown(p01)) or seen, timeout=20, what="the announcement")
    assert seen == ["Water team: stand-up at 11:00"]
    assert shown(p03) == []

    cleared = lab.icslab("announce", "--clear")
    assert cleared.returncode == 0 and "cleared 1" in cleared.stdout
    assert "stand-up" not in p01.http.get("hub/home").text


def test_announcing_to_a_team_that_does_not_exist_is_refused(lab):
    refused = lab.icslab("announce", "hello", "--team", "gas")
    assert refused.returncode == 2
    assert "no such team (teams: power, water)" in refused.stderr


def test_verdicts_survive_a_hub_restart_and_export_as_csv(lab, checked, tmp_path):
    lab.stop()
    lab.start()
    state = lab.login("trainer1").http.get(ROOM + "state").json()
    assert member(state, "p01")["cells"]["welcome.sensor_count"]["attempts"] == 3

    out = tmp_path / "progress.csv"
    exported = lab.icslab("room", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open()))
    seen = [(r["user"], r["team"], r["verdict"], r["hint_shown"]) for r in rows]
    assert seen[:5] == [
        ("p01", "water", "not yet", "yes"),
        ("p01", "water", "not yet", "yes"),
        ("p01", "water", "not answered", "no"),
        ("p01", "water", "correct", "no"),
        ("p03", "power", "not yet", "yes"),
    ]
    # Then the flood's share (the refused ones are not recorded) and p03's next check.
    assert seen[5:] == [("p02", "water", "not answered", "no")] * 120 + [
        ("p03", "power", "correct", "no")
    ]
