"""The instructors' room view in a real lab: participants in two teams run self-checks
from their kernels; the room records exactly those verdicts, shows them only to
instructors, keeps them across a hub restart and exports them; announcements reach
the hub's pages and participants' servers, for everyone or one team; alerts raised
from kernels are scored against a team's live plant on an instructors' board."""

import csv
import json
import time

import pandas as pd
import pytest

from icslab.plant.truth import TrueAttack, write_truth
from icslab.sim.tags import TAG_NAMES
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


def post_alerts(bodies):
    """Kernel code: POST each body to the room's `alerts` with the server's token, and
    print the answers' status codes and texts as JSON."""
    return (
        "import json, os, requests\n"
        "url = os.environ['ICSLAB_ROOM_URL'] + 'alerts'\n"
        "auth = {'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']}\n"
        "with requests.Session() as s:\n"
        f"    answers = [s.post(url, json=b, headers=auth) for b in {bodies!r}]\n"
        "print(json.dumps([[a.status_code, a.text.strip()] for a in answers]))\n"
    )


def board(client):
    answer = client.http.get(ROOM + "plants")
    assert answer.status_code == 200, answer.text
    return {t["name"]: t for t in answer.json()["teams"]}


@pytest.fixture(scope="module")
def attacked(lab):
    """Water's plant says an attack on LIT101 started 30 s ago; power's plant has had
    none yet."""
    plants = lab.resolved().paths.plants
    start = pd.Timestamp("2026-03-02 04:00", tz="UTC")
    attack = TrueAttack(
        "L01", "sensor_constant", ("LIT101",), start, start + pd.Timedelta(minutes=10),
        "instructor", pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=30), 1.0,
    )  # fmt: skip
    for team, attacks in (("water", [attack]), ("power", [])):
        (plants / team).mkdir(parents=True, exist_ok=True)
        write_truth(plants / team, attacks)
    return time.time()


def test_an_alert_30_s_into_an_attack_scores_a_detection_on_the_board(lab, checked, attacked):
    p01, _ = checked
    raised = p01.run_code(
        "from icslab.plant.alerting import alert\n"
        "print(repr(alert('LIT101 has not moved for 30 s', tags=['LIT101'])))\n"
    )
    assert raised.strip() == "None"  # nothing printed on success
    alerted = time.time()

    water = board(lab.login("trainer1"))["water"]
    assert (water["detected"], water["attacks_so_far"], water["missed"]) == (1, 1, 0)
    assert water["false_alarms"] == 0
    [attack] = water["attacks"]
    assert (attack["id"], attack["state"], attack["targets"]) == ("L01", "detected", ["LIT101"])
    assert 30 <= attack["time_to_detect"] <= 30 + (alerted - attacked) + 1
    assert water["median_time_to_detect"] == attack["time_to_detect"]
    [shown] = water["alerts"]
    assert (shown["user"], shown["reason"], shown["tags"], shown["verdict"]) == (
        "p01", "LIT101 has not moved for 30 s", ["LIT101"], "detected L01",
    )  # fmt: skip


def test_an_alert_cannot_be_raised_for_another_team_or_with_made_up_tags(lab, checked, attacked):
    p01, _ = checked
    ok = {"reason": "P101 stopped", "tags": ["P101_RUN"]}
    answers = json.loads(
        p01.run_code(
            post_alerts(
                [
                    {**ok, "team": "power"},
                    {**ok, "user": "p03"},
                    {"reason": "P101 stopped"},
                    {**ok, "tags": ["<img src=x onerror=alert(1)>"]},
                    {**ok, "tags": ["P101_RUN", "P101_RUN"]},
                    {**ok, "reason": "x" * 201},
                ]
            )
        ).splitlines()[-1]
    )
    assert [code for code, _ in answers] == [400] * 6
    assert answers[0][1].startswith("field not allowed")
    assert answers[3][1].startswith("tags: not the plant's tag names")
    assert "1 to 200 characters" in answers[5][1]

    # Refused in the notebook before the network, with what to fix.
    refused = p01.run_code(
        "from icslab.plant.alerting import alert\n"
        "try:\n"
        "    alert('', tags=['LIT101'])\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    assert "alert not sent: reason: a text of 1 to 200 characters" in refused

    # The largest alert there is: 200 characters that JSON escapes to 12 bytes each.
    longest = sorted(TAG_NAMES, key=len)[-20:]
    [[code, _]] = json.loads(
        p01.run_code(post_alerts([{"reason": "\U0001f6a8" * 200, "tags": longest}])).splitlines()[
            -1
        ]
    )
    assert code == 204

    shown = board(lab.login("trainer1"))
    assert shown["power"]["alerts"] == []
    assert [a["reason"] for a in shown["water"]["alerts"]] == [
        "\U0001f6a8" * 200,
        "LIT101 has not moved for 30 s",
    ]
    assert shown["water"]["alerts"][0]["verdict"] == "during L01"  # counted once


def test_participants_never_see_the_plants_board(lab, checked, attacked):
    p01, _ = checked
    assert p01.http.get(ROOM + "plants").status_code == 403


def test_someone_in_no_team_cannot_raise_an_alert(lab, attacked):
    trainer2 = lab.login("trainer2")
    trainer2.start_server()
    [[code, text]] = json.loads(
        trainer2.run_code(post_alerts([{"reason": "hello", "tags": []}])).splitlines()[-1]
    )
    assert (code, text) == (403, "alerts are scored per team, and you are in no team")


def test_a_kernel_raising_alerts_in_a_loop_is_refused_after_60_a_minute(lab, checked, attacked):
    _, p03 = checked
    body = {"reason": "P201 flickers", "tags": ["P201_RUN"]}
    answers = json.loads(p03.run_code(post_alerts([body] * 61)).splitlines()[-1])
    assert [code for code, _ in answers] == [204] * 60 + [429]
    refused = p03.run_code(
        "from icslab.plant.alerting import alert, AlertNotRecorded\n"
        "try:\n"
        "    alert('P201 flickers', tags=['P201_RUN'])\n"
        "except AlertNotRecorded as error:\n"
        "    print(error)\n"
    )
    assert "too many alerts: at most 60 alerts a minute" in refused
    power = board(lab.login("trainer1"))["power"]
    assert (power["false_alarms"], len(power["alerts"])) == (60, 20)  # the 20 latest shown


def test_verdicts_survive_a_hub_restart_and_export_as_csv(lab, checked, tmp_path):
    lab.stop()
    lab.start()
    trainer = lab.login("trainer1")
    state = trainer.http.get(ROOM + "state").json()
    assert member(state, "p01")["cells"]["welcome.sensor_count"]["attempts"] == 3
    assert board(trainer)["water"]["detected"] == 1  # the alert is kept too

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


def test_a_kernel_connects_to_its_own_teams_plant_through_the_lab(lab):
    """Last in this module: the plants it starts rewrite the teams' ground truth."""
    from icslab.plant import lifecycle

    p01, p03 = lab.login("p01"), lab.login("p03")  # after the restart test: fresh sessions
    for client in (p01, p03):
        client.start_server()
    resolved = lab.resolved()
    lifecycle.up(resolved, speed=20)
    try:
        code = (
            "import icslab.plant\n"
            "plant = icslab.plant.connect()\n"
            "print(plant.url, len(plant.registers), list(plant.history('5min').columns[:2]))\n"
        )
        water, power = p01.run_code(code).split(), p03.run_code(code).split()
        assert water[0] == lifecycle.data_url(lifecycle.folder_of(resolved, "water"))
        assert power[0] == lifecycle.data_url(lifecycle.folder_of(resolved, "power"))
        assert water[1] == str(len(TAG_NAMES)) and water[2:] == ["['LIT101',", "'FIT101']"]
    finally:
        lifecycle.down(resolved)
    refused = p01.run_code(
        "import icslab.plant\n"
        "try:\n    icslab.plant.connect()\nexcept icslab.plant.client.NoPlant as e:\n    print(e)\n"
    )
    assert "no live plant for team water: an instructor starts them" in refused
