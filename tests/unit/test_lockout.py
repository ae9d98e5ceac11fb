"""RosterAuthenticator: roster users with stored passwords only. Wrong passwords lock
the account against the address that typed them (against everyone when they come
from several), and too many from one address refuse that address."""

import asyncio
import time
from types import SimpleNamespace

import bcrypt
import pytest
from jupyterhub import orm, roles
from tornado import web

from icslab.hub.auth import RosterAuthenticator, client_address, request_address, sign_out
from icslab.hub.passwords import EVERYWHERE, MAX_PASSWORD_BYTES, TOO_LONG, PasswordStore


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


def handler(peer="10.0.0.9", forwarded_for=None):
    """What check_password reads of a tornado request: the socket's peer and headers."""
    context = SimpleNamespace(address=(peer, 40000))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return SimpleNamespace(
        request=SimpleNamespace(connection=SimpleNamespace(context=context), headers=headers)
    )


def login(authenticator, username, password, address="10.0.0.9"):
    return asyncio.run(
        authenticator.authenticate(handler(address), {"username": username, "password": password})
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
    now = time.time()
    monkeypatch.setattr("icslab.hub.passwords.time.time", lambda: now + 58)
    with pytest.raises(web.HTTPError, match="locked"):
        login(authenticator, "p01", "right-password")  # still locked just before the end
    monkeypatch.setattr("icslab.hub.passwords.time.time", lambda: now + 61)
    assert login(authenticator, "p01", "right-password") == "p01"


def test_a_lock_holds_against_the_guessing_address_only(authenticator):
    for _ in range(3):
        login(authenticator, "p01", "wrong", address="10.0.0.66")
    with pytest.raises(web.HTTPError, match="locked"):
        login(authenticator, "p01", "right-password", address="10.0.0.66")
    assert login(authenticator, "p01", "right-password", address="10.0.0.7") == "p01"


def test_guesses_from_several_addresses_lock_the_account_for_everyone(authenticator):
    for address in ["10.0.0.66"] * 3 + ["10.0.0.67"] * 2:
        login(authenticator, "p01", "wrong", address=address)
    assert authenticator._store.locks()["p01"].keys() == {"10.0.0.66"}
    login(authenticator, "p01", "wrong", address="10.0.0.67")  # the 6th within the minute
    assert authenticator._store.locks()["p01"].keys() == {"10.0.0.66", EVERYWHERE}
    with pytest.raises(web.HTTPError, match="locked for 60 more seconds"):
        login(authenticator, "p01", "right-password", address="10.0.0.7")


def test_one_address_guessing_again_after_its_lock_does_not_lock_everyone(
    authenticator, monkeypatch
):
    for _ in range(3):
        login(authenticator, "p01", "wrong", address="10.0.0.66")
    later_wall, later = time.time() + 61, time.monotonic() + 61
    monkeypatch.setattr("icslab.hub.passwords.time.time", lambda: later_wall)
    monkeypatch.setattr("icslab.hub.auth.time.monotonic", lambda: later)
    for _ in range(3):
        login(authenticator, "p01", "wrong", address="10.0.0.66")
    assert authenticator._store.locks()["p01"].keys() == {"10.0.0.66"}
    assert login(authenticator, "p01", "right-password", address="10.0.0.7") == "p01"


def test_a_lock_outlives_a_hub_restart_and_an_instructor_sees_and_lifts_it(authenticator, tmp_path):
    for _ in range(3):
        login(authenticator, "p01", "wrong")
    store = PasswordStore(tmp_path / "passwords.dbm")
    assert 59 <= store.locks()["p01"]["10.0.0.9"] <= 60
    restarted = RosterAuthenticator(dbm_path=str(store.path), allowed_users={"p01"})
    with pytest.raises(web.HTTPError, match="locked"):
        login(restarted, "p01", "right-password")
    assert store.unlock(["p02"]) == [] and store.unlock() == ["p01"]
    assert store.locks() == {}
    assert login(restarted, "p01", "right-password") == "p01"


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


def test_a_new_password_may_be_as_short_and_as_long_as_allowed_and_no_more(authenticator):
    shortest = "s" * authenticator.min_password_length
    assert "too short" in authenticator.reset_password("p01", shortest[1:])
    assert "has been changed" in authenticator.reset_password("p01", shortest)
    assert login(authenticator, "p01", shortest) == "p01"
    longest = "é" * (MAX_PASSWORD_BYTES // 2)  # 2 bytes each in UTF-8
    assert authenticator.reset_password("p01", longest + "x") == TOO_LONG  # one byte more
    assert login(authenticator, "p01", shortest) == "p01"  # the old one kept
    assert "has been changed" in authenticator.reset_password("p01", longest)
    assert login(authenticator, "p01", longest) == "p01"


def test_an_instructors_reset_lifts_the_lock(authenticator, tmp_path):
    for _ in range(3):
        login(authenticator, "p01", "wrong")
    with pytest.raises(web.HTTPError, match="locked"):
        login(authenticator, "p01", "right-password")  # locked: even the right one waits

    PasswordStore(tmp_path / "passwords.dbm").set_password("p01", "from-the-instructor")

    assert login(authenticator, "p01", "from-the-instructor") == "p01"
    assert login(authenticator, "p01", "right-password") is None  # the old one is gone


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


# -- one address, many usernames ---------------------------------------------------


@pytest.fixture
def room(tmp_path):
    """Ten accounts; an address may get 4 wrong passwords per minute, an account 3."""
    store = PasswordStore(tmp_path / "passwords.dbm")
    names = [f"p{n:02}" for n in range(10)]
    store.set_hashes({name: bcrypt.hashpw(b"right-password", bcrypt.gensalt(4)) for name in names})
    return RosterAuthenticator(
        dbm_path=str(store.path),
        allowed_users=set(names),
        max_failed_logins=3,
        max_failed_logins_per_address=4,
        address_window_seconds=60,
    )


def test_one_address_is_refused_beyond_its_limit_without_locking_anyone_more(room):
    # Up to the limit, every guess is checked (and may lock an account against it)...
    for name in ["p00", "p00", "p00", "p01"]:
        assert login(room, name, "wrong", address="10.0.0.66") is None
    # ...beyond it, refused unchecked: these count against no account.
    for name in ["p01", "p01", "p02", "stranger"]:
        with pytest.raises(web.HTTPError, match="from your computer: try again in 60 s") as refused:
            login(room, name, "right-password", address="10.0.0.66")
        assert refused.value.status_code == 429
    assert room._store.locks() == {"p00": {"10.0.0.66": 300}}
    # Another computer logs in as anyone, the guesser's first target included.
    for name in ["p00", "p01", "p02", "p09"]:
        assert login(room, name, "right-password", address="10.0.0.7") == name


def test_a_throttled_address_tries_again_when_its_oldest_failure_leaves_the_window(
    room, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr("icslab.hub.auth.time.monotonic", lambda: clock[0])
    for step, name in enumerate(["p01", "p02", "p03", "p04"]):
        clock[0] = 1000.0 + step
        login(room, name, "wrong", address="10.0.0.66")
    clock[0] = 1059.5
    assert room.seconds_throttled("10.0.0.66") == 1
    clock[0] = 1060.0  # the first failure is a minute old: one more try
    assert login(room, "p05", "right-password", address="10.0.0.66") == "p05"
    assert login(room, "p05", "wrong", address="10.0.0.66") is None
    assert room.seconds_throttled("10.0.0.66") == 1  # the second failure leaves at 1061


def test_a_burst_from_one_address_gets_no_more_checks_than_its_limit(room, monkeypatch):
    checks = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: checks.append(1) or real(*args))

    async def burst():
        guesses = [
            room.authenticate(handler("10.0.0.66"), {"username": f"p{n:02}", "password": "x"})
            for n in range(10)
        ]
        return await asyncio.gather(*guesses, return_exceptions=True)

    answers = asyncio.run(burst())
    assert len(checks) == 4
    assert sum(isinstance(a, web.HTTPError) and a.status_code == 429 for a in answers) == 6


def test_the_change_password_page_counts_like_the_login(room):
    for _ in range(3):
        assert not asyncio.run(room.check_password(handler("10.0.0.5"), "p03", "wrong"))
    with pytest.raises(web.HTTPError, match="locked"):
        asyncio.run(room.check_password(handler("10.0.0.5"), "p03", "right-password"))
    with pytest.raises(web.HTTPError, match="locked"):  # the login page, too
        login(room, "p03", "right-password", address="10.0.0.5")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "seen"),
    [
        ("192.168.7.20", None, "192.168.7.20"),  # a laptop calling the proxy directly
        ("192.168.7.20", "10.9.9.9", "192.168.7.20"),  # ...cannot pick its own address
        ("172.30.0.5", "10.9.9.9, 127.0.0.1", "172.30.0.5"),  # nor can a container
        ("127.0.0.1", "192.168.7.20", "192.168.7.20"),  # the proxy saw the laptop
        ("127.0.0.1", "10.9.9.9, 192.168.7.20", "192.168.7.20"),  # ...which wrote the rest
        ("127.0.0.1", "192.168.7.20, 127.0.0.1", "192.168.7.20"),  # caddy, then the proxy
        ("127.0.0.1", "::ffff:192.168.7.20", "192.168.7.20"),  # as node writes it
        ("127.0.0.1", "127.0.0.5", "127.0.0.5"),  # a client on this machine
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
def test_the_client_address_trusts_only_proxies_on_loopback(peer, forwarded_for, seen):
    assert client_address(peer, forwarded_for) == seen


def test_x_real_ip_is_never_trusted():
    request = handler("192.168.7.20").request
    request.headers["X-Real-Ip"] = "10.9.9.9"
    assert request_address(request) == "192.168.7.20"


# -- signing a user out everywhere ---------------------------------------------------


@pytest.fixture
def hub_db():
    db = orm.new_session_factory("sqlite:///:memory:")()
    db.add(orm.OAuthClient(identifier="jupyterhub"))
    roles.create_role(db, {"name": "user", "scopes": ["self"]})
    db.commit()
    return db


def test_signing_out_ends_cookies_and_tokens_but_not_the_running_server(hub_db):
    p01 = orm.User(name="p01")
    hub_db.add(p01)
    hub_db.commit()
    cookie_id = p01.cookie_id
    stolen = p01.new_api_token(note="made on the token page")
    server = p01.new_api_token(note="Server at /user/p01/")
    forged = p01.new_api_token(note="Server at /user/p01/")  # anyone may write a note
    user = SimpleNamespace(orm_user=p01, spawners={"": SimpleNamespace(api_token=server)})

    sign_out(hub_db, user)

    assert p01.cookie_id != cookie_id
    assert orm.APIToken.find(hub_db, stolen) is None
    assert orm.APIToken.find(hub_db, forged) is None
    assert orm.APIToken.find(hub_db, server) is not None


def test_the_hub_carries_out_a_reset_made_outside_it(authenticator, hub_db, tmp_path):
    p01 = orm.User(name="p01")
    hub_db.add(p01)
    hub_db.commit()
    cookie_id, token = p01.cookie_id, p01.new_api_token()
    users = {p01: SimpleNamespace(orm_user=p01, spawners={})}
    authenticator._app = SimpleNamespace(db=hub_db, users=users)
    store = PasswordStore(tmp_path / "passwords.dbm")

    authenticator._sign_out_requested()  # nothing asked: nothing done
    assert p01.cookie_id == cookie_id

    store.request_sign_out("p01")
    store.request_sign_out("gone")  # no longer in the hub: dropped all the same
    authenticator._sign_out_requested()
    assert p01.cookie_id != cookie_id and orm.APIToken.find(hub_db, token) is None
    assert store.sign_out_requests() == []
