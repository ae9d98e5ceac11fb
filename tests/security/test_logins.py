"""Attacks on the login form of a real lab.

- bcrypt reads at most 72 bytes and bcrypt 5 raises beyond that: a long password
  used to give an HTTP 500. Now it is refused with a message, on the login and
  the change-password pages, and counts as a wrong password.
- Wrong passwords sent all at once used to be checked all at once, each before
  any failure was counted: the lockout allowed as many guesses as one could send.
- A reset or a password change left every session and token of the old password
  working: whoever had it stayed in.
- One computer trying 5 wrong passwords for every account locked the whole room,
  instructors included.

Browsers on other computers of the room are clients on other loopback addresses
(127.x.y.z): the hub sees the address the proxy in front of it saw, not the
proxy's own.
"""

import contextlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from icslab.testing import EXAMPLE_ROSTER, RunningLab
from icslab.testing.client import LabClient, LoginFailed

pytestmark = pytest.mark.integration

LONG = "é" * 40  # 80 bytes in UTF-8, 40 characters
ROSTER = [*EXAMPLE_ROSTER, *((f"p{n:02}", "grid", "participant") for n in range(4, 10))]
PER_ADDRESS = 10  # RosterAuthenticator's defaults
PER_ACCOUNT = 5


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with RunningLab(tmp_path_factory.mktemp("lab"), roster=ROSTER) as running:
        yield running


def browser_at(lab, address: str) -> LabClient:
    client = lab.client()
    # The same client, connecting from `address` (this lab is plain http on loopback).
    client.http._transport = httpx.HTTPTransport(local_address=address)
    return client


def signed_in(client: LabClient) -> bool:
    return client.http.get("hub/home", follow_redirects=False).status_code == 200


def api_with(lab, token: str) -> int:
    return httpx.get(f"{lab.url}hub/api/user", headers={"Authorization": f"token {token}"})


def new_token(client: LabClient, username: str) -> str:
    answer = client.api("POST", f"users/{username}/tokens", json={"note": "for later"})
    answer.raise_for_status()
    return answer.json()["token"]


def change_password(client: LabClient, current: str, new: str) -> httpx.Response:
    form = {"current_password": current, "password": new, "_xsrf": client.cookie("_xsrf", "/hub/")}
    return client.http.post("hub/auth/change-password", data=form)


def test_a_long_password_at_login_is_refused_with_a_message(lab):
    with pytest.raises(LoginFailed, match="at most 72 bytes"):
        lab.login("p01", LONG)
    lab.login("p01")  # the real password still works
    assert " 500 " not in lab.logs() and "Traceback" not in lab.logs()


def test_a_long_new_password_is_refused_and_the_old_one_kept(lab):
    p02 = lab.login("p02")
    form = {
        "current_password": lab.credentials()["p02"],
        "password": LONG,
        "_xsrf": p02.cookie("_xsrf", "/hub/"),
    }
    answer = p02.http.post("hub/auth/change-password", data=form)
    assert answer.status_code == 400 and "at most 72 bytes" in answer.text
    lab.login("p02")  # unchanged
    assert " 500 " not in lab.logs()


def test_a_burst_of_guesses_gets_no_more_checks_than_the_lockout_allows(lab):
    def guess(number: int) -> str:
        with lab.client() as client:
            try:
                client.login("p03", f"guess-{number}")
            except LoginFailed as refused:
                return str(refused)
        return "logged in"

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(guess, range(20)))

    checked = [a for a in answers if a == "Invalid username or password"]
    locked = [a for a in answers if "locked for" in a]
    assert len(checked) <= 5 < len(checked) + len(locked) == 20, answers
    with pytest.raises(LoginFailed, match="locked for"):
        lab.login("p03")  # even the right password, until the lock ends


def test_a_burst_from_many_addresses_locks_the_account_for_everyone(lab):
    def guess(number: int) -> str:
        with browser_at(lab, f"127.0.20.{number + 1}") as client:
            try:
                client.login("p08", f"guess-{number}")
            except LoginFailed as refused:
                return str(refused)
        return "logged in"

    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(guess, range(30)))

    checked = [a for a in answers if a == "Invalid username or password"]
    assert len(checked) == 2 * PER_ACCOUNT, answers
    assert all("locked for" in a for a in answers if a not in checked)
    with pytest.raises(LoginFailed, match="locked for"):
        browser_at(lab, "127.0.21.1").login("p08", lab.credentials()["p08"])


def test_a_reset_signs_out_a_stolen_session_and_token(lab):
    thief = lab.login("p04")  # whoever learned p04's password
    token = new_token(thief, "p04")
    thief.start_server()
    thief.open_server()  # its cookie on the server holds an OAuth token
    issued = thief.api("GET", "users/p04/tokens").json()["api_tokens"]
    assert "Server at /user/p04/" in {t["oauth_client"] for t in issued}  # the OAuth one
    assert signed_in(thief) and api_with(lab, token).status_code == 200

    result = lab.icslab("passwords", "reset", "p04")

    assert result.returncode == 0 and "p04 is signed out everywhere" in result.stdout
    assert not signed_in(thief)
    assert api_with(lab, token).status_code == 403
    owner = lab.login("p04")  # with the new password from the sheet
    left = owner.api("GET", "users/p04/tokens").json()["api_tokens"]
    assert [t["note"] for t in left] == ["Server at /user/p04/"]  # the server's own
    assert owner.run_code("6*7") == "42"  # and the server still works


def test_a_password_change_signs_out_every_other_session(lab):
    owner, thief = lab.login("p05"), lab.login("p05")
    token = new_token(thief, "p05")

    answer = change_password(owner, lab.credentials()["p05"], "a-brand-new-secret")

    assert answer.status_code == 200 and "has been changed" in answer.text
    assert not signed_in(thief) and api_with(lab, token).status_code == 403
    assert signed_in(owner)  # the browser that changed it stays in
    lab.login("p05", "a-brand-new-secret")


def test_one_computer_guessing_at_every_account_locks_nobody_else_out(lab):
    guesser = browser_at(lab, "127.0.66.1")
    answers = []
    for username, _, _ in ROSTER:  # the instructors first
        for _ in range(PER_ACCOUNT):
            try:
                guesser.login(username, "a-guess")
            except LoginFailed as refused:
                answers.append(str(refused))

    checked = [a for a in answers if a == "Invalid username or password"]
    refused = [a for a in answers if "from your computer: try again in" in a]
    assert len(checked) == PER_ADDRESS and len(refused) == len(answers) - PER_ADDRESS
    # The instructors it guessed at log in from their own computers...
    credentials = lab.credentials()
    browser_at(lab, "127.0.66.2").login("trainer1", credentials["trainer1"])
    browser_at(lab, "127.0.66.3").login("trainer2", credentials["trainer2"])
    # ...the refused guesses counted against nobody, and the guesser stays refused.
    browser_at(lab, "127.0.66.4").login("p09", credentials["p09"])
    with pytest.raises(LoginFailed, match="from your computer"):
        guesser.login("p09", credentials["p09"])
    locks = lab.icslab("passwords", "locks").stdout
    assert "trainer1: locked for" in locks and "against 127.0.66.1" in locks
    assert "p09" not in locks


def test_an_instructor_lifts_a_lock(lab):
    laptop = browser_at(lab, "127.0.77.1")
    for _ in range(PER_ACCOUNT - 1):
        with pytest.raises(LoginFailed, match="Invalid username or password"):
            laptop.login("p06", "mistyped")
    with pytest.raises(LoginFailed, match="Invalid username or password"):
        laptop.login("p06", "mistyped")  # the last one checked...
    with pytest.raises(LoginFailed, match="locked for"):
        laptop.login("p06", lab.credentials()["p06"])  # ...then even the right one waits
    assert "p06: locked for" in lab.icslab("passwords", "locks").stdout

    result = lab.icslab("passwords", "unlock", "p06")

    assert result.returncode == 0 and "p06: unlocked" in result.stdout
    laptop.login("p06", lab.credentials()["p06"])  # at once
    assert "p06" not in lab.icslab("passwords", "locks").stdout


def test_the_change_password_form_counts_wrong_current_passwords(lab):
    p07 = browser_at(lab, "127.0.88.1")
    p07.login("p07", lab.credentials()["p07"])
    for _ in range(PER_ACCOUNT):
        answer = change_password(p07, "a-guess", "a-brand-new-secret")
        assert answer.status_code == 403 and "current password is wrong" in answer.text
    answer = change_password(p07, lab.credentials()["p07"], "a-brand-new-secret")
    assert answer.status_code == 403 and "locked for" in answer.text
    with pytest.raises(LoginFailed, match="locked for"):  # the login form counts the same
        browser_at(lab, "127.0.88.1").login("p07", lab.credentials()["p07"])
    browser_at(lab, "127.0.88.2").login("p07", lab.credentials()["p07"])  # unchanged


def test_a_login_flood_from_one_computer_keeps_nobody_else_out(lab):
    import time

    flooder = browser_at(lab, "127.0.77.1")

    def guess(n: int) -> None:
        with contextlib.suppress(LoginFailed):
            flooder.login(f"p0{4 + n % 6}", f"guess-{n}")

    credentials = lab.credentials()
    with ThreadPoolExecutor(32) as pool:
        flood = [pool.submit(guess, n) for n in range(400)]
        started = time.monotonic()
        browser_at(lab, "127.0.77.2").login("trainer2", credentials["trainer2"])
        waited = time.monotonic() - started
        for done in flood:
            done.result()
    # The flood costs at most PER_ADDRESS bcrypt checks, the rest is refused at once;
    # without the throttle, 400 checks (0.25 s each) queue ahead of the instructor.
    assert waited < 5, f"an instructor waited {waited:.1f} s to log in during a flood"
