"""Attacks on the login form of a real lab.

- bcrypt reads at most 72 bytes and bcrypt 5 raises beyond that: a long password
  used to give an HTTP 500. Now it is refused with a message, on the login and
  the change-password pages, and counts as a wrong password.
- Wrong passwords sent all at once used to be checked all at once, each before
  any failure was counted: the lockout allowed as many guesses as one could send.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from icslab.client import LoginFailed
from icslab.testing import RunningLab

pytestmark = pytest.mark.integration

LONG = "é" * 40  # 80 bytes in UTF-8, 40 characters


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with RunningLab(tmp_path_factory.mktemp("lab")) as running:
        yield running


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
