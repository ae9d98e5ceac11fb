"""Every workshop notebook runs top to bottom, as a participant gets it (exercises
unanswered) and as an instructor gets it (every self-check passes), on the small
sample datasets. The live-plant module watches a real plant (a local plant process
on loopback, run fast), which the instructor attacks while the team watches; its
alerts go to a stand-in for the lab's room service."""

import json
import os
import signal
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

from icslab.capstone import practice_environment
from icslab.lab import HUB_TOKEN_ENV, ROOM_URL_ENV
from icslab.notebooks.build import build_workshop
from icslab.notebooks.execute import QUICK, execute, printed
from icslab.notebooks.manifest import load_workshop
from icslab.notebooks.variants import contains_solutions
from icslab.plant import connect, lifecycle
from icslab.plant.client import PLANT_URL_ENV
from icslab.plant.scoring import DETECTED, Alert, score
from icslab.plant.truth import read_truth
from icslab.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
BATADAL = REPO.parent / "shared" / "data" / "batadal"
WORKSHOP = load_workshop("ics-week")
MODULES = [module.file for module in WORKSHOP.modules]
LIVE = "08-live-plant.ipynb"
SPEED = 40  # plant seconds per second: the notebook's 45 s of watching are 30 plant minutes
WATCHING = "plant.episodes"  # the self-check run just before the notebook starts watching
ATTACK_AFTER = 10 * 60  # plant seconds of normal operation watched before the attack
ATTACK = {"kind": "sensor_constant", "target": "LIT101", "value": 4.9, "seconds": 5 * 60}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_workshop(WORKSHOP, tmp_path_factory.mktemp("workshops"))


@pytest.fixture
def lab_env(tmp_path):
    env = practice_environment(tmp_path / "submissions")
    if BATADAL.is_dir():
        env["ICSLAB_BATADAL"] = str(BATADAL)
    elif os.environ.get("CI"):
        pytest.fail(f"{BATADAL} is missing: CI must run the capstone's BATADAL part")
    return env


@contextmanager
def room_service():
    """A stand-in for the lab's room service: answers 204 and keeps, per endpoint, what
    it got and when (its clock stamps alerts, as the real one does)."""
    got: dict[str, list] = {"alerts": [], "checks": []}
    heard = threading.Condition()

    class Room(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with heard:
                got[self.path.rpartition("/")[2]].append((time.time(), body))
                heard.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Room)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/services/icslab-room/", got, heard
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def live_plant(tmp_path):
    """A team's plant running fast, with 10 plant minutes of history (the detector's
    window), and a room service; the instructor attacks once the notebook watches.
    Yields the kernel's environment, what the room got, and the plant's folder."""
    plants = tmp_path / "plants"
    plants.mkdir()
    folder = lifecycle.prepare(plants / "water", "water", SPEED, red_team=False)
    lifecycle.start_plants(plants, [folder])
    try:
        url = lifecycle.data_url(folder)
        plant = connect(url)
        wait_for(lambda: len(plant.history("1h")) >= 600, timeout=60, what="10 plant minutes")
        with room_service() as (room, got, heard):
            attacker = threading.Thread(target=attack_when_watching, args=(folder, got, heard),
                                        daemon=True)  # fmt: skip
            attacker.start()
            env = {PLANT_URL_ENV: url, ROOM_URL_ENV: room, HUB_TOKEN_ENV: "server-token"}
            yield env, got, folder
    finally:
        host = lifecycle.host_pid(plants)
        if host:
            os.kill(host[0], signal.SIGTERM)
            wait_for(lambda: not lifecycle.host_pid(plants), timeout=15, what="the plant to stop")


def attack_when_watching(folder, got, heard):
    """As an instructor would: once the team's notebook is watching, attack a few plant
    minutes later (the notebook has no way to know when)."""
    with heard:
        if not heard.wait_for(lambda: any(b["exercise"] == WATCHING for _, b in got["checks"]),
                              timeout=240):  # fmt: skip
            return
    start = plant_time(folder)
    wait_for(lambda: plant_time(folder) >= start + ATTACK_AFTER, timeout=60, what="plant time")
    answer = lifecycle.control(folder, "POST", "attack", dict(ATTACK))
    assert answer.status_code == 200, answer.text


def plant_time(folder) -> float:
    status = lifecycle.control(folder, "GET", "status").json()
    return datetime.fromisoformat(status["time"]).timestamp()


def run(built, version, file, env, tmp_path):
    if file == LIVE:
        with live_plant(tmp_path) as (plant_env, got, folder):
            result = execute_module(built, version, file, {**env, **plant_env})
            attacks = read_truth(folder)
            assert len(attacks) == 1, "the instructor's attack was not launched while it watched"
            alerts = [Alert(at, "p01", b["reason"], tuple(b["tags"])) for at, b in got["alerts"]]
            board = score(alerts, attacks, now=time.time())
            assert [a.state for a in board.attacks] == [DETECTED], board
            assert board.false_alarms <= 1, board.alerts
            assert len(alerts) <= 2, "one alert per alarm episode, not one per alarmed second"
        return result
    return execute_module(built, version, file, env)


def execute_module(built, version, file, env):
    notebook = nbformat.read(built[version] / file, as_version=4)
    calls = sum(
        cell.source.count("icslab.check(") for cell in notebook.cells if cell.cell_type == "code"
    )
    executed = execute(
        notebook,
        cwd=built[version],
        parameters=QUICK,
        strict_checks=version == "instructor",
        env=env,
        timeout=300,
    )
    verdicts = [line for line in printed(executed).splitlines() if line[:1] in "✅❌"]
    return calls, verdicts


@pytest.mark.parametrize("file", MODULES)
def test_instructor_version_passes_all_its_self_checks(built, lab_env, tmp_path, file):
    calls, verdicts = run(built, "instructor", file, lab_env, tmp_path)
    assert calls >= (0 if file.startswith("00") else 3), "each module has exercises"
    assert len(verdicts) == calls and all(v.startswith("✅") for v in verdicts), verdicts


@pytest.mark.parametrize("file", MODULES)
def test_participant_version_runs_with_every_exercise_unanswered(built, lab_env, tmp_path, file):
    notebook = nbformat.read(built["participant"] / file, as_version=4)
    assert not contains_solutions(notebook)
    calls, verdicts = run(built, "participant", file, lab_env, tmp_path)
    assert len(verdicts) == calls
    assert all(v.startswith("❌") and "not answered yet" in v for v in verdicts), verdicts


def test_no_solution_code_reaches_the_participant_version(built):
    for file in MODULES:
        instructor = nbformat.read(built["instructor"] / file, as_version=4)
        participant = nbformat.read(built["participant"] / file, as_version=4)
        shown = {cell.source for cell in participant.cells}
        for cell in instructor.cells:
            if "solution" in cell.metadata.get("tags", []):
                assert cell.source not in shown, f"{file}: a solution leaked"
