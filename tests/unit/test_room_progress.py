"""The room's arithmetic: who has what right, who needs help, what a team has done,
when the culler's warning is due, and what announcements each participant sees."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from icslab.checks import check, recording
from icslab.errors import InputError
from icslab.hub import announcements
from icslab.room.exercises import Module, workshop_modules
from icslab.room.progress import Progress, Server
from icslab.room.store import Check, Store, export_csv
from icslab.room.watch import HubWatch
from icslab.roster import Member
from icslab.settings import load_settings

MEMBERS = [
    Member("trainer1", "", "instructor"),
    Member("p01", "water", "participant"),
    Member("p02", "water", "participant"),
    Member("p03", "power", "participant"),
]
MODULES = [Module("Welcome", ("welcome.a", "welcome.b")), Module("Historian", ("historian.c",))]
NOW = 1_800_000_000.0


def room(*checks, stuck=3, quiet=20) -> Progress:
    progress = Progress(MODULES, MEMBERS, stuck, quiet)
    for at, user, exercise, verdict in checks:
        progress.add(Check(NOW + at, user, "water", exercise, verdict, verdict == "not yet"))
    return progress


def helped(progress, servers=None, now=NOW + 60):
    return {h["user"]: h["reason"] for h in progress.view(now, servers or {}, {})["needs_help"]}


def test_wrong_answers_in_a_row_flag_a_participant_only_from_the_limit_on():
    two = room((0, "p01", "welcome.a", "not yet"), (1, "p01", "welcome.a", "not yet"))
    assert helped(two) == {}
    three = room(*[(i, "p01", "welcome.a", "not yet") for i in range(3)])
    assert helped(three) == {"p01": "3 wrong answers in a row to welcome.a"}


def test_a_right_answer_or_wrong_answers_spread_over_exercises_do_not_count_as_stuck():
    fixed = room(*[(i, "p01", "welcome.a", "not yet") for i in range(3)])
    fixed.add(Check(NOW + 5, "p01", "water", "welcome.a", "correct", False))
    assert helped(fixed) == {}
    spread = room(
        (0, "p01", "welcome.a", "not yet"),
        (1, "p01", "welcome.b", "not yet"),
        (2, "p01", "historian.c", "not yet"),
    )
    assert helped(spread) == {}


def test_a_running_server_with_no_check_for_quiet_minutes_needs_help_and_not_before():
    progress = room((0, "p01", "welcome.a", "correct"))
    running = {"p01": Server(running=True, started=NOW - 3600), "p02": Server(running=False)}
    assert helped(progress, running, now=NOW + 19 * 60) == {}
    assert helped(progress, running, now=NOW + 21 * 60) == {
        "p01": "no self-check for 21 min while their server runs"
    }
    # A stopped server is no one waiting for help.
    assert "p02" not in helped(progress, running, now=NOW + 21 * 60)


def test_a_module_is_done_when_the_team_together_solved_every_exercise():
    progress = room((0, "p01", "welcome.a", "correct"))
    teams = {t["name"]: t for t in progress.view(NOW, {}, {})["teams"]}
    assert teams["water"]["modules_done"] == 0
    progress.add(Check(NOW, "p02", "water", "welcome.b", "correct", False))
    teams = {t["name"]: t for t in progress.view(NOW, {}, {})["teams"]}
    assert teams["water"]["modules_done"] == 1
    assert teams["power"]["modules_done"] == 0


def test_per_exercise_counts_use_each_participants_latest_verdict():
    progress = room(
        (0, "p01", "welcome.a", "not yet"),
        (1, "p01", "welcome.a", "correct"),
        (2, "p02", "welcome.a", "not yet"),
        (3, "p02", "welcome.a", "not yet"),
        (4, "p02", "welcome.a", "not yet"),
        (5, "p03", "welcome.a", "not answered"),
    )
    stats = progress.view(NOW, {}, {})["exercises"]
    assert stats["welcome.a"] == {"right": 1, "failed": 1, "median_attempts": 2.5}
    assert stats["welcome.b"] == {"right": 0, "failed": 0, "median_attempts": None}


def test_instructors_trying_exercises_are_not_in_the_grid():
    progress = room((0, "trainer1", "welcome.a", "correct"))
    users = [m["user"] for t in progress.view(NOW, {}, {})["teams"] for m in t["members"]]
    assert users == ["p03", "p01", "p02"]  # power, then water


def test_the_store_keeps_checks_across_reopening_and_exports_them(tmp_path):
    store = Store(tmp_path / "room.sqlite")
    store.add(Check(NOW, "p01", "water", "welcome.a", "not yet", True))
    store.close()
    assert [c.user for c in Store(tmp_path / "room.sqlite").checks()] == ["p01"]
    text = export_csv(tmp_path / "room.sqlite").decode()
    assert text.splitlines() == [
        "time,user,team,exercise,verdict,hint_shown",
        "2027-01-15T08:00:00+00:00,p01,water,welcome.a,not yet,yes",
    ]


def test_the_ics_week_exercises_are_read_in_module_order():
    modules = workshop_modules(["ics-week"])
    assert modules[0].exercises == ("welcome.sensor_count", "welcome.longest_target")
    assert len({name for m in modules for name in m.exercises}) >= 25


def test_a_workshop_missing_from_the_repository_is_skipped_not_fatal(caplog):
    modules = workshop_modules(["not-here", "ics-week"])
    assert modules == workshop_modules(["ics-week"])
    assert "no exercises from not-here" in caplog.text


def watch_for(make_lab, timeout=60, warn=5):
    watch = HubWatch(make_lab(culler={"idle_timeout_minutes": timeout, "warn_minutes": warn}))
    return watch


def test_the_culler_warning_comes_warn_minutes_before_the_stop_and_not_earlier(make_lab):
    watch = watch_for(make_lab)
    watch.servers = {"p01": Server(running=True, started=NOW, last_activity=NOW)}
    assert watch.idle_warning("p01", NOW + 54 * 60) is None
    warning = watch.idle_warning("p01", NOW + 55 * 60)
    assert warning and warning["type"] == "warning"
    assert (
        "idle for 55 minutes" in warning["message"]
        and "may stop it in 5 minutes" in warning["message"]
    )
    # Used again: no warning until it is idle long enough once more.
    watch.servers = {"p01": Server(running=True, started=NOW, last_activity=NOW + 50 * 60)}
    assert watch.idle_warning("p01", NOW + 55 * 60) is None


def test_no_culler_warning_without_a_culler_or_a_running_server(make_lab):
    off = HubWatch(make_lab(culler={"idle_timeout_minutes": 0}))
    off.servers = {"p01": Server(running=True, started=NOW, last_activity=NOW)}
    assert off.idle_warning("p01", NOW + 10 * 3600) is None
    on = watch_for(make_lab)
    on.servers = {"p01": Server(running=False, started=NOW, last_activity=NOW)}
    assert on.idle_warning("p01", NOW + 10 * 3600) is None


def test_a_warning_at_or_after_the_timeout_is_refused_in_the_settings(tmp_path):
    settings = tmp_path / "lab.toml"
    for warn, refused in ((4, False), (5, True), (6, True)):
        settings.write_text(
            f'[workshop]\ntitle = "x"\n[culler]\nidle_timeout_minutes = 5\nwarn_minutes = {warn}\n'
        )
        if refused:
            with pytest.raises(InputError, match=r"warn_minutes.*less than"):
                load_settings(settings)
        else:
            assert load_settings(settings).culler.warn_minutes == warn


def test_announcements_for_everyone_for_one_team_and_until_a_time(tmp_path):
    path = tmp_path / "announcements.json"
    announcements.add(path, "Lunch: back at 13:30", None, None)
    announcements.add(path, "Water: stand-up", "water", datetime.now(UTC) + timedelta(hours=1))
    assert [a.message for a in announcements.current(path, "water")] == [
        "Lunch: back at 13:30",
        "Water: stand-up",
    ]
    assert [a.message for a in announcements.current(path, "power")] == ["Lunch: back at 13:30"]
    later = datetime.now(UTC) + timedelta(hours=2)
    assert [a.message for a in announcements.current(path, "water", later)] == [
        "Lunch: back at 13:30"
    ]
    assert announcements.clear(path, "water") == 1
    assert announcements.clear(path) == 1
    assert announcements.current(path, None) == []


def test_announcements_are_escaped_on_the_hubs_pages_and_bad_ones_refused(tmp_path):
    path = tmp_path / "announcements.json"
    announcements.add(path, "<script>alert(1)</script>", None, None)
    shown = announcements.as_html(announcements.current(path, None))
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    with pytest.raises(InputError, match="empty"):
        announcements.add(path, "   ", None, None)
    with pytest.raises(InputError, match="at most 500"):
        announcements.add(path, "x" * 501, None, None)
    announcements.add(path, "x" * 500, None, None)
    with pytest.raises(InputError, match="already past"):
        announcements.add(path, "late", None, datetime.now(UTC) - timedelta(minutes=1))


def test_a_check_prints_its_verdict_at_once_when_the_room_cannot_be_reached(monkeypatch, capsys):
    import types

    import pandas as pd

    monkeypatch.setenv("ICSLAB_ROOM_URL", "http://127.0.0.1:9/services/icslab-room/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "a-token")
    plant = types.SimpleNamespace(tags=pd.DataFrame({"kind": ["sensor", "pump"]}))
    started = time.perf_counter()
    assert check("welcome.sensor_count", 1, plant=plant)
    assert time.perf_counter() - started < 0.5
    assert "✅ welcome.sensor_count: correct!" in capsys.readouterr().out
    assert recording.wait_sent(10)  # tried, then dropped: never an error
