"""A real JupyterHub with the embedded local spawner, driven as participants'
and instructors' browsers would drive it."""

import os
import re
import signal

import psutil
import pytest

from icslab.settings import Limits, size_bytes
from icslab.testing import EXAMPLE_ROSTER, RunningLab
from icslab.testing.client import AccessDenied, LoginFailed
from icslab.waiting import wait_for

pytestmark = pytest.mark.integration


def test_participant_logs_in_with_the_sheet_password_and_runs_code(lab):
    p01 = lab.login("p01")
    p01.start_server()

    assert p01.open_server().url.path == "/user/p01/lab"
    assert p01.run_code("6*7") == "42"
    where = p01.run_code("import os; print(os.getcwd(), os.environ['ICSLAB_DATA'])").split()
    assert where == [str(lab.data_dir / "users" / "p01"), str(lab.folder / "datasets")]


def test_servers_are_forks_of_one_preloaded_process(lab):
    hub = lab.processes()[0]
    for user in ("p01", "p02"):
        client = lab.login(user)
        client.start_server()
        # A kernel's parent is its server; the server's parent is the zygote.
        server = psutil.Process(int(client.run_code("import os; print(os.getppid())")))
        assert server.parent().cmdline()[1:3] == ["-m", "icslab.hub.zygote"]
        assert server.parent().ppid() == hub.pid
        # The fork runs as its participant: own home and working folder.
        assert server.cwd() == str(lab.data_dir / "users" / user)
        assert client.run_code("import os; print(os.environ['HOME'])").strip() == server.cwd()
    assert not any("jupyterhub-singleuser" in " ".join(p.cmdline()) for p in lab.processes())


def test_a_participants_first_kernel_was_started_with_their_server(lab):
    p02 = lab.login("p02")
    if p02.server_status():
        p02.stop_server()  # another test may have used its spare kernel already
    p02.start_server()
    p02.open_server()
    assert p02.server_api("p02", "GET", "kernels").json() == []  # spares are not listed

    kernel_id = p02.start_kernel()

    handed_out = f"[icslab] handed out spare kernel {kernel_id}"
    wait_for(lambda: handed_out in lab.logs(), timeout=10, what="the hand-out in the hub log")
    assert p02.execute(kernel_id, "6*7") == "42"
    p02.shutdown_kernel(kernel_id)


def test_a_participant_sees_their_memory_against_their_limit(lab):
    p02 = lab.login("p02")
    p02.start_server()
    shown = p02.memory_shown(holding_mib=200)
    assert shown["limits"]["memory"]["pss"] == size_bytes(Limits().memory)  # not enforced
    assert shown["pss"] >= 200 * 2**20


def test_jupyterlab_does_not_ask_to_fetch_news_in_an_offline_lab(lab):
    p01 = lab.login("p01")
    p01.start_server()
    p01.open_server()
    settings = p01.http.get("user/p01/lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert settings.status_code == 200
    defaults = settings.json()["schema"]["properties"]  # our overrides change the defaults
    assert defaults["fetchNews"]["default"] == "false"
    assert defaults["checkForUpdates"]["default"] is False


def test_with_no_languages_listed_a_participant_gets_english_only(lab):
    p01 = lab.login("p01")
    p01.start_server()
    p01.open_server()
    assert p01.languages() == (["en"], "default", {})


def test_a_participant_may_pick_a_listed_language_and_starts_in_english(tmp_path):
    workshop = {"title": "Indo-Pacific week", "languages": ["ja-JP"]}
    with RunningLab(tmp_path, roster=EXAMPLE_ROSTER, workshop=workshop) as lab:
        p01 = lab.login("p01")
        p01.start_server()
        p01.open_server()

        assert p01.languages() == (["en", "ja_JP"], "default", {})
        # The pack loads in this JupyterLab: its strings for JupyterLab itself are there.
        japanese = p01.http.get("user/p01/lab/api/translations/ja_JP").json()
        assert japanese["message"] == ""
        assert japanese["data"]["jupyterlab"][""]["language"] == "ja-JP"
        assert japanese["data"]["jupyterlab"]["Settings"] == ["設定"]


def test_a_participant_cannot_reach_another_teams_server(lab):
    # p01 (water) and p03 (power); teammates may share servers (see test_teams.py).
    p01, p03 = lab.login("p01"), lab.login("p03")
    p01.start_server()

    with pytest.raises(AccessDenied):
        p03.open_server("p01")
    with pytest.raises(AccessDenied):
        p03.run_code("open('/etc/hostname').read()", owner="p01")
    with pytest.raises(AccessDenied):
        p03.start_server("p02")
    assert p03.http.get("hub/admin").status_code == 403


def test_an_instructor_sees_runs_and_stops_participants_servers_only(lab):
    trainer = lab.login("trainer1")
    assert trainer.http.get("hub/admin").status_code == 200
    listed = {user["name"] for user in trainer.api("GET", "users").json()}
    assert listed == {"p01", "p02", "p03"}

    trainer.start_server("p03")
    assert trainer.run_code("6*7", owner="p03") == "42"  # via the OAuth consent page
    trainer.stop_server("p03")

    trainer.start_server()
    with pytest.raises(AccessDenied):
        lab.login("trainer2").open_server("trainer1")
    with pytest.raises(AccessDenied):
        lab.login("trainer2").stop_server("trainer1")
    # Hub settings and users are beyond an instructor.
    assert trainer.api("POST", "users/p09").status_code == 403
    assert trainer.api("DELETE", "users/p01").status_code == 403


def test_teams_are_groups(lab):
    groups = {g["name"]: set(g["users"]) for g in lab.login("trainer1").api("GET", "groups").json()}
    assert groups["water"] == {"p01", "p02"}
    assert groups["power"] == {"p03"}
    assert groups["participants"] == {"p01", "p02", "p03"}
    assert groups["instructors"] == {"trainer1", "trainer2"}


def test_a_participant_changes_their_password_knowing_the_current_one(lab):
    old = lab.credentials()["p02"]
    p02 = lab.login("p02", old)
    assert "Current password" in p02.http.get("hub/auth/change-password").text

    def change(current, new):
        form = {
            "current_password": current,
            "password": new,
            "_xsrf": p02.cookie("_xsrf", "/hub/"),
        }
        return p02.http.post("hub/auth/change-password", data=form)

    assert change("not-my-password", "a-new-secret").status_code == 403
    assert change(old, "short").status_code == 400
    lab.login("p02", old)  # neither attempt changed anything

    answer = change(old, "a-new-secret")
    assert answer.status_code == 200 and "has been changed" in answer.text
    with pytest.raises(LoginFailed):
        lab.login("p02", old)
    lab.login("p02", "a-new-secret")


def test_an_instructor_resets_a_password_while_the_lab_runs(lab):
    old = lab.credentials()["p03"]
    lab.login("p03", old)  # the sheet's password works until the reset

    result = lab.icslab("passwords", "reset", "p03")

    assert result.returncode == 0, result.stderr
    new = lab.credentials()["p03"]
    assert new != old and new in result.stdout
    with pytest.raises(LoginFailed, match="Invalid username or password"):
        lab.login("p03", old)  # the old one no longer logs in...
    lab.login("p03", new)  # ...the new one does, at once


def test_the_idle_culler_runs_with_enough_rights(lab):
    commands = [" ".join(p.cmdline()) for p in lab.processes()]
    assert any("jupyterhub_idle_culler --timeout=3600" in c for c in commands), commands
    culler_pass = re.compile(r" (\d{3}) GET /hub/api/users\?\S* \(idle-culler@")
    first = wait_for(
        lambda: culler_pass.search(lab.logs()), timeout=30, what="the culler's first pass"
    )
    assert first.group(1) == "200"


def test_only_roster_users_log_in(lab):
    with pytest.raises(LoginFailed):
        lab.login("intruder", "whatever-password")
    with pytest.raises(LoginFailed):
        lab.login("p01", "not-the-password")


def test_wrong_passwords_lock_the_account_until_an_instructor_resets_it(tmp_path):
    locking = {"max_failed_logins": 3, "lockout_seconds": 600}
    with RunningLab(tmp_path, roster=EXAMPLE_ROSTER, accounts=locking) as lab:
        for _ in range(3):
            with pytest.raises(LoginFailed, match="Invalid username or password"):
                lab.login("p01", "wrong-password")
        with pytest.raises(LoginFailed, match="locked for 600 more seconds"):
            lab.login("p01")  # even the right password, while locked
        lab.login("p02")  # others are not affected

        old = lab.credentials()["p01"]

        assert lab.icslab("passwords", "reset", "p01").returncode == 0
        lab.login("p01")  # the new password from the sheet works at once: the lock is gone
        with pytest.raises(LoginFailed, match="Invalid username or password"):
            lab.login("p01", old)  # and the old one is refused as wrong, not as locked


def test_restart_with_an_edited_roster_keeps_passwords_and_files(tmp_path):
    lab = RunningLab(tmp_path, roster=EXAMPLE_ROSTER).start()
    try:
        before = lab.credentials()
        p01 = lab.login("p01")
        p01.start_server()
        p01.run_code("open('notes.txt', 'w').write('mass balance of tank 2')")
        p02 = lab.login("p02")
        p02.start_server()
        p02.run_code("open('homework.txt', 'w').write('draft')")
    finally:
        # Ctrl-C; fails if the proxy or a participant's server outlived the hub.
        lab.stop(how=signal.SIGINT)

    edited = [row for row in EXAMPLE_ROSTER if row[0] != "p02"]  # p02 leaves
    edited = [("p03", "water", "participant") if row[0] == "p03" else row for row in edited]
    lab.set_roster([*edited, ("p09", "power", "participant")])  # p09 joins
    with lab:
        after = lab.credentials()
        assert after["p01"] == before["p01"] and "p02" not in after and "p09" in after

        p01 = lab.login("p01", before["p01"])
        p01.start_server()
        assert p01.run_code("print(open('notes.txt').read())") == "mass balance of tank 2\n"
        with pytest.raises(LoginFailed):
            lab.login("p02", before["p02"])
        lab.login("p09")

        trainer = lab.login("trainer1")
        groups = {g["name"]: set(g["users"]) for g in trainer.api("GET", "groups").json()}
        assert groups["water"] == {"p01", "p03"}
        assert groups["power"] == {"p09"}
        assert os.stat(lab.data_dir / "credentials.csv").st_mode & 0o777 == 0o600
    # A removed user's account goes; their files stay for the instructor to collect.
    assert (lab.data_dir / "users" / "p02" / "homework.txt").read_text() == "draft"


def test_warm_starts_one_teams_servers_before_the_session(lab):
    first = lab.icslab("warm", "--team", "power")
    assert first.returncode == 0, first.stdout + first.stderr
    trainer = lab.login("trainer1")
    assert trainer.server_status("p03").get("ready")

    again = lab.icslab("warm", "--team", "power")
    assert "0 started, 1 already running, 0 failed" in again.stdout

    unknown = lab.icslab("warm", "--team", "oil")
    assert unknown.returncode == 2
    assert "no team 'oil' in the roster (teams: power, water)" in unknown.stderr
