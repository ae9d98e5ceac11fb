"""What the room view costs: a self-check's added time in a participant's kernel, and
the room view's answer for a full room.

1. In a kernel of a running local-mode lab (`icslab up`, a real hub and room
   service), `icslab.check(...)` on welcome.sensor_count, --calls times with the
   verdict recorded and as many times with recording off (no room URL in the
   kernel's environment), alternating; prints the median time per call of each and
   their difference (what recording adds), and how long the recorded verdicts
   took to reach the service.
2. The same lab with a roster of --participants (default 60) in teams of 6 and
   --checks-per-participant verdicts already recorded: the room service's
   `state` (what the page fetches every 2 s) as an instructor's browser gets it,
   through the proxy, --requests times; prints the median and p95. The lab's
   workshop has the ics-week exercises (27); the in-process part below also
   builds the 40-exercise view.
3. In process: `Progress.view` + JSON for --participants x --exercises (default
   40) with every cell tried: median time, and the JSON's size.
4. With --screenshot PNG: the page drawn in Debian's chromium from that 60 x 40
   state (served by Playwright's routing, no lab), to judge it on a projector, with
   a live plant per team (three attacks, a few alerts each) on its board.

    .venv/bin/python bench/room.py [--participants 60] [--screenshot room.png]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from icslab.plant.scoring import Alert
from icslab.plant.truth import TrueAttack, write_truth
from icslab.room import plants
from icslab.room.exercises import Module
from icslab.room.progress import Progress, Server
from icslab.room.store import Check, Store
from icslab.roster import Member
from icslab.testing import RunningLab

CHECK_TIMING = """
import os, time, types, statistics, json
import pandas as pd, icslab
from icslab.checks import recording
plant = types.SimpleNamespace(tags=pd.DataFrame({{'kind': ['sensor', 'sensor', 'pump']}}))
url = os.environ['ICSLAB_ROOM_URL']
icslab.check('welcome.sensor_count', 2, plant=plant)  # imports, the sender thread
recording.wait_sent(10)
on, off = [], []
for i in range({calls}):
    for times, recorded in ((on, True), (off, False)):
        if not recorded:
            del os.environ['ICSLAB_ROOM_URL']
        started = time.perf_counter()
        icslab.check('welcome.sensor_count', 3 if i % 2 else 2, plant=plant)
        times.append(time.perf_counter() - started)
        os.environ['ICSLAB_ROOM_URL'] = url
sent = time.perf_counter()
recording.wait_sent(60)
drained = time.perf_counter() - sent
print(json.dumps({{'on': statistics.median(on), 'off': statistics.median(off), 'drain': drained}}))
"""


def room_members(participants: int) -> list[Member]:
    """An instructor and `participants` participants in teams of 6."""
    found = [Member("trainer1", "", "instructor")]
    for i in range(1, participants + 1):
        found.append(Member(f"p{i:02d}", f"team{(i - 1) // 6 + 1:02d}", "participant"))
    return found


def seed(store_path: Path, members: list[Member], exercises: list[str], per: int) -> None:
    store = Store(store_path)
    now = time.time() - 3600
    rng = random.Random(0)
    for member in members:
        if member.role != "participant":
            continue
        for exercise in rng.sample(exercises, min(per, len(exercises))):
            verdict = rng.choice(["correct", "not yet", "not yet", "not answered"])
            store.add(
                Check(now, member.username, member.team, exercise, verdict, verdict == "not yet")
            )
    store.close()


def in_lab(args) -> None:
    from icslab.room.exercises import workshop_modules

    exercises = [n for m in workshop_modules([]) for n in m.exercises]
    with tempfile.TemporaryDirectory(prefix="icslab-bench-room-") as folder:
        members = room_members(args.participants)
        rows = [(m.username, m.team, m.role) for m in members]
        lab = RunningLab(Path(folder), roster=rows, culler={"idle_timeout_minutes": 0})
        lab.data_dir.mkdir(parents=True, exist_ok=True)
        seed(lab.data_dir / "room.sqlite", members, exercises, args.checks_per_participant)
        with lab:
            p01 = lab.login("p01")
            p01.start_server()
            timing = json.loads(
                p01.run_code(CHECK_TIMING.format(calls=args.calls), timeout=600).splitlines()[-1]
            )
            on, off = timing["on"] * 1e3, timing["off"] * 1e3
            print(
                f"self-check, median of {args.calls}: recorded {on:.3f} ms, not recorded "
                f"{off:.3f} ms, added {on - off:.3f} ms; the {args.calls} recorded verdicts "
                f"reached the service {timing['drain'] * 1e3:.0f} ms after the last call"
            )
            trainer = lab.login("trainer1")
            trainer.http.get("services/icslab-room/")  # the page: OAuth, cookie
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                answer = trainer.http.get("services/icslab-room/state")
                times.append(time.perf_counter() - started)
                answer.raise_for_status()
            state = answer.json()
            cells = sum(len(m["cells"]) for t in state["teams"] for m in t["members"])
            times.sort()
            median, p95 = statistics.median(times), times[int(0.95 * len(times)) - 1]
            size = len(answer.content) / 1024
            print(
                f"room view state, {args.participants} participants x {len(exercises)} "
                f"exercises ({cells} cells tried, {size:.0f} KiB) over HTTP through the proxy: "
                f"median {median * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms ({args.requests} requests)"
            )


def synthetic(args) -> dict:
    modules = [
        Module(
            f"Module {m}", tuple(f"module{m}.exercise_{e:02d}" for e in range(args.exercises // 8))
        )
        for m in range(8)
    ]
    names = [n for m in modules for n in m.exercises]
    members = room_members(args.participants)
    progress = Progress(modules, members, 3, 20)
    rng = random.Random(1)
    now = time.time()
    for member in members[1:]:
        for name in names:
            for _ in range(rng.randint(1, 4)):
                verdict = rng.choice(["correct", "not yet", "not answered"])
                progress.add(
                    Check(
                        now - 600, member.username, member.team, name, verdict, verdict == "not yet"
                    )
                )
    servers = {
        m.username: Server(running=True, started=now - 7200, last_activity=now - 60)
        for m in members
    }
    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        body = json.dumps(progress.view(now, servers, {}))
        times.append(time.perf_counter() - started)
    print(
        f"in process, {args.participants} x {len(names)} every cell tried: view + JSON median "
        f"{statistics.median(times) * 1e3:.1f} ms ({len(body) / 1024:.0f} KiB)"
    )
    return json.loads(body)


def synthetic_plants(participants: int) -> dict:
    """The plants' board for teams of 6, each plant attacked three times in the last
    hour (detected, missed, under way), with alerts on time, in recovery and false."""
    members = [m for m in room_members(participants) if m.team]
    teams = sorted({m.team for m in members})
    now = time.time()
    wall = pd.Timestamp(now, unit="s", tz="UTC")
    plant_start = pd.Timestamp("2026-03-02 04:00", tz="UTC")
    reasons = ["LIT101 flat for 2 min while P101 runs", "FIT201 above its 3-sigma band",
               "unexpected Modbus write to PLC3 holding register 12",
               "AIT402 residual over threshold (autoencoder)"]  # fmt: skip
    rng = random.Random(2)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "room.sqlite")
        for index, team in enumerate(teams):
            attacks = []
            for n, (ago, minutes) in enumerate([(3600, 10), (2400, 5), (120, 10)]):
                start = plant_start + pd.Timedelta(seconds=3600 - ago)
                attacks.append(TrueAttack(
                    f"L{n + 1:02d}", "sensor_constant", ("LIT101",), start,
                    start + pd.Timedelta(minutes=minutes), "instructor",
                    wall - pd.Timedelta(seconds=ago), 1.0,
                ))  # fmt: skip
            (Path(folder) / team).mkdir()
            write_truth(Path(folder) / team, attacks)
            users = [m.username for m in members if m.team == team]
            times = [3600 - 20 - 10 * index, 3000, 1500] + [100 - 5 * index] * (index % 4 > 0)
            for ago in times + [4000] * (index % 3 == 0):  # some false alarms
                user, reason = rng.choice(users), rng.choice(reasons)
                store.add_alert(team, Alert(now - ago, user, reason, ("LIT101",)))
        try:
            return plants.board(lambda team: Path(folder) / team, teams, store, now)
        finally:
            store.close()


def screenshot(state: dict, path: Path, board: dict) -> None:
    from playwright.sync_api import sync_playwright

    from icslab.room import page

    base = "https://room.test/services/icslab-room/"
    bodies = {
        base: ("text/html", page.html("ICS Security Week", "xsrf").encode()),
        base + "room.js": ("text/javascript", page.script("room.js")),
        base + "plotly.js": ("text/javascript", page.script("plotly.js")),
        base + "state": ("application/json", json.dumps(state).encode()),
        base + "plants": ("application/json", json.dumps(board).encode()),
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        tab = browser.new_page(viewport={"width": 1920, "height": 1080})
        tab.route(
            "**/*",
            lambda route: (
                route.fulfill(
                    content_type=bodies[route.request.url][0], body=bodies[route.request.url][1]
                )
                if route.request.url in bodies
                else route.abort()
            ),
        )
        started = time.perf_counter()
        tab.goto(base)
        tab.wait_for_selector("#chart .main-svg", state="attached")  # hidden with plants
        tab.wait_for_selector("#plants tr.team") if board["teams"] else None
        drawn = time.perf_counter() - started
        print(f"chromium drew the {len(state['teams'])}-team page in {drawn:.2f} s")
        tab.screenshot(path=path)
        browser.close()
    print(f"screenshot: {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--exercises", type=int, default=40)
    parser.add_argument("--checks-per-participant", type=int, default=20)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--no-lab", action="store_true", help="only the in-process parts")
    args = parser.parse_args(argv)
    if not args.no_lab:
        in_lab(args)
    state = synthetic(args)
    if args.screenshot:
        screenshot(state, args.screenshot, synthetic_plants(args.participants))


if __name__ == "__main__":
    main()
