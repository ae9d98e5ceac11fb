"""An instructor live-codes; participants follow the notebook read-only, see each save
within 2 s, copy it into their workspace, and cannot run anything on the instructor's
server."""

import json
import time

import nbformat
import pytest

from icslab.testing.client import AccessDenied
from icslab.waiting import wait_for

pytestmark = pytest.mark.integration


def save(client, path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    body = {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))}
    answer = client.server_api(client.username, "PUT", f"contents/{path}", json=body)
    assert answer.status_code in (200, 201), answer.text


@pytest.fixture(scope="module")
def trainer(lab):
    trainer = lab.login("trainer1")
    trainer.start_server()
    trainer.open_server()
    save(trainer, "ewma.ipynb", "alarms = detect(levels)  # first version")
    return trainer


def test_participants_follow_each_save_within_two_seconds(lab, trainer):
    started = lab.icslab("live", "start", "ewma.ipynb", "--as", "trainer1")
    assert started.returncode == 0, started.stderr
    p01 = lab.login("p01")
    page = p01.http.get("services/icslab-live/ewma")
    assert page.status_code == 200 and "icslab live copy ewma" in page.text
    assert "first version" in p01.http.get("services/icslab-live/ewma/view").text
    before = p01.http.get("services/icslab-live/ewma/version").json()["version"]

    saved = time.monotonic()
    save(trainer, "ewma.ipynb", "alarms = detect(levels, alpha=0.05)  # after the fix")
    wait_for(
        lambda: p01.http.get("services/icslab-live/ewma/version").json()["version"] != before,
        timeout=2,
        what="the follow page to see the save",
    )
    assert time.monotonic() - saved < 2
    assert "after the fix" in p01.http.get("services/icslab-live/ewma/view").text


def test_following_gives_no_way_to_run_code(lab, trainer):
    lab.icslab("live", "start", "ewma.ipynb", "--as", "trainer1")
    p02 = lab.login("p02")
    assert p02.http.post("services/icslab-live/ewma/view").status_code == 405
    assert p02.http.put("services/icslab-live/ewma/notebook.ipynb").status_code == 405
    with pytest.raises(AccessDenied):
        p02.run_code("print('hello')", owner="trainer1")


def test_a_participant_copies_the_current_version_into_their_workspace(lab, trainer):
    lab.icslab("live", "start", "ewma.ipynb", "--as", "trainer1")
    p03 = lab.login("p03")
    p03.start_server()
    code, copied = p03.run_command(["icslab", "live", "copy", "ewma"])
    assert code == 0 and copied.startswith("copied to live/ewma-"), copied
    (copy,) = (lab.data_dir / "users" / "p03" / "live").glob("ewma-*.ipynb")
    assert nbformat.read(copy, as_version=4).cells[0].source.startswith("alarms = detect")
    code, missing = p03.run_command(["icslab", "live", "copy", "nope"])
    assert code == 2 and "no broadcast called 'nope'" in missing


def test_ending_a_broadcast_stops_updates_and_bad_requests_change_nothing(lab, trainer):
    lab.icslab("live", "start", "ewma.ipynb", "--as", "trainer1", "--name", "day2")
    p01 = lab.login("p01")
    assert p01.http.get("services/icslab-live/day2/version").status_code == 200
    assert lab.icslab("live", "stop", "day2").returncode == 0
    ended = p01.http.get("services/icslab-live/day2/version")
    assert ended.status_code == 404 and "no broadcast called 'day2'" in ended.text

    not_instructor = lab.icslab("live", "start", "ewma.ipynb", "--as", "p01")
    assert not_instructor.returncode == 2 and "not an instructor" in not_instructor.stderr
    unsaved = lab.icslab("live", "start", "nothing.ipynb", "--as", "trainer1")
    assert unsaved.returncode == 2 and "save it there first" in unsaved.stderr
    outside = lab.icslab("live", "start", "../p01/secret.ipynb", "--as", "trainer1")
    assert outside.returncode == 2 and "inside your work folder" in outside.stderr
    assert lab.icslab("live", "stop", "day2").returncode == 2
    assert "day2" not in lab.icslab("live", "list").stdout
