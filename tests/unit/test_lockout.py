"""RosterAuthenticator: roster users with stored passwords only; wrong passwords lock."""

import asyncio

import bcrypt
import pytest
from tornado import web

from icslab.hub.auth import RosterAuthenticator
from icslab.hub.passwords import PasswordStore


@pytest.fixture
def authenticator(tmp_path):
    dbm_path = tmp_path / "passwords.dbm"
    PasswordStore(dbm_path).set_password("p01", "right-password")
    return RosterAuthenticator(
        dbm_path=str(dbm_path),
        allowed_users={"p01", "p02"},
        max_failed_logins=3,
        lockout_seconds=60,
    )


def login(authenticator, username, password):
    return asyncio.run(
        authenticator.authenticate(None, {"username": username, "password": password})
    )


def test_the_right_password_logs_in(authenticator):
    assert login(authenticator, "p01", "right-password") == "p01"
    assert login(authenticator, "P01", "right-password") == "p01"


def test_no_first_use_sign_up(authenticator):
    # p02 is on the roster but has no stored password: FirstUse would have
    # accepted any password as the new one.
    assert login(authenticator, "p02", "anything-at-all") is None
    assert login(authenticator, "stranger", "right-password") is None


def test_repeated_wrong_passwords_lock_even_the_right_one(authenticator):
    for _ in range(3):
        assert login(authenticator, "p01", "wrong") is None
    with pytest.raises(web.HTTPError) as locked:
        login(authenticator, "p01", "right-password")
    assert locked.value.status_code == 403
    assert "locked for 60 more seconds" in locked.value.log_message


def test_a_lock_expires(authenticator, monkeypatch):
    for _ in range(3):
        login(authenticator, "p01", "wrong")
    later = authenticator._locks["p01"][0] + 1
    monkeypatch.setattr("icslab.hub.auth.time.monotonic", lambda: later)
    assert login(authenticator, "p01", "right-password") == "p01"


def test_a_success_forgives_earlier_mistakes(authenticator):
    login(authenticator, "p01", "wrong")
    login(authenticator, "p01", "wrong")
    login(authenticator, "p01", "right-password")
    login(authenticator, "p01", "wrong")
    assert login(authenticator, "p01", "right-password") == "p01"


def test_changing_a_password_enforces_the_minimum_length(authenticator):
    assert "too short" in authenticator.reset_password("p01", "short")
    assert login(authenticator, "p01", "right-password") == "p01"
    assert "has been changed" in authenticator.reset_password("p01", "a-longer-one")
    assert login(authenticator, "p01", "a-longer-one") == "p01"


def test_an_instructors_reset_lifts_the_lock(authenticator, tmp_path):
    for _ in range(3):
        login(authenticator, "p01", "wrong")
    PasswordStore(tmp_path / "passwords.dbm").set_password("p01", "from-the-instructor")
    assert login(authenticator, "p01", "from-the-instructor") == "p01"


@pytest.mark.parametrize("username", ["p01", "p02", "stranger"])
def test_every_wrong_login_costs_one_bcrypt_check_whoever_exists(
    authenticator, monkeypatch, username
):
    """p01 has a password, p02 none yet, `stranger` is not on the roster: each answer
    takes one bcrypt check, so its time does not tell which names are real."""
    checks = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: checks.append(1) or real(*args))
    assert login(authenticator, username, "wrong") is None
    assert len(checks) == 1
