"""Accounts follow the roster; passwords are generated, hashed, kept and reset."""

import stat

import pytest

from icslab.errors import InputError
from icslab.hub.accounts import (
    hub_answers,
    locked_accounts,
    read_credentials,
    reset_password,
    signed_out,
    sync_accounts,
    unlock_accounts,
)
from icslab.hub.passwords import ALPHABET, PasswordStore, generate_password
from icslab.lab import LabPaths


@pytest.fixture
def paths(tmp_path):
    return LabPaths(tmp_path / "data")


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_new_users_get_a_generated_password_on_a_private_sheet(paths):
    changes = sync_accounts(paths, ["trainer1", "p01"])
    sheet = read_credentials(paths.credentials)

    assert changes.added == ["trainer1", "p01"]
    assert list(sheet) == ["trainer1", "p01"]
    assert sheet["p01"] != sheet["trainer1"]
    assert mode(paths.credentials) == 0o600
    store = PasswordStore(paths.passwords)
    assert store.check("p01", sheet["p01"])
    assert not store.check("p01", sheet["trainer1"])
    assert sheet["p01"].encode() not in b"".join(
        f.read_bytes() for f in paths.data_dir.glob("passwords.dbm*")
    ), "only hashes are stored"
    assert all(mode(f) == 0o600 for f in paths.data_dir.glob("passwords.dbm*"))


def test_existing_users_keep_their_password_and_removed_users_lose_their_account(paths):
    sync_accounts(paths, ["p01", "p02"])
    first = read_credentials(paths.credentials)
    PasswordStore(paths.passwords).set_password("p01", "chosen-by-p01")

    changes = sync_accounts(paths, ["p01", "p03"])
    sheet = read_credentials(paths.credentials)

    assert (changes.added, changes.removed, changes.kept) == (["p03"], ["p02"], ["p01"])
    assert sheet["p01"] == first["p01"]  # the sheet shows the initial password...
    store = PasswordStore(paths.passwords)
    assert store.check("p01", "chosen-by-p01")  # ...and the changed one still works
    assert "p02" not in sheet and not store.check("p02", first["p02"])
    assert store.usernames() == {"p01", "p03"}


def test_an_instructor_resets_a_forgotten_password(paths):
    sync_accounts(paths, ["p01"])
    old = read_credentials(paths.credentials)["p01"]

    new = reset_password(paths, "p01")

    assert new != old and read_credentials(paths.credentials)["p01"] == new
    store = PasswordStore(paths.passwords)
    assert store.check("p01", new) and not store.check("p01", old)


def test_a_reset_lifts_the_lock_and_asks_the_hub_to_sign_the_user_out(paths):
    sync_accounts(paths, ["p01", "p02"])
    store = PasswordStore(paths.passwords)
    store.lock("p01", 300)
    store.lock("p02", 300)

    reset_password(paths, "p01")

    assert locked_accounts(paths).keys() == {"p02"}
    assert store.sign_out_requests() == ["p01"]
    assert not hub_answers(paths)  # no lab runs here: the hub does it when it starts
    assert not signed_out(paths, "p01", timeout=0.2)
    store.signed_out(["p01"])  # as the hub does
    assert signed_out(paths, "p01", timeout=0)


def test_an_instructor_lifts_named_locks_or_all(paths):
    sync_accounts(paths, ["p01", "p02", "p03"])
    store = PasswordStore(paths.passwords)
    for name in ("p01", "p02", "p03"):
        store.lock(name, 300)

    assert unlock_accounts(paths, ["p01"]) == ["p01"]
    assert unlock_accounts(paths, ["p01"]) == []  # no longer locked
    assert locked_accounts(paths).keys() == {"p02", "p03"}
    with pytest.raises(InputError, match="'p99' has no account"):
        unlock_accounts(paths, ["p02", "p99"])
    assert locked_accounts(paths).keys() == {"p02", "p03"}  # nothing lifted
    assert unlock_accounts(paths, []) == ["p02", "p03"]
    assert locked_accounts(paths) == {}
    assert mode(store.logins_path) == 0o600


def test_resetting_an_unknown_user_changes_nothing(paths):
    sync_accounts(paths, ["p01"])
    before = paths.credentials.read_bytes()
    with pytest.raises(InputError, match="'p99' has no account"):
        reset_password(paths, "p99")
    assert paths.credentials.read_bytes() == before


def test_generated_passwords_are_readable_and_random():
    passwords = {generate_password() for _ in range(1000)}
    assert len(passwords) == 1000
    sample = passwords.pop()
    assert len(sample) == 14 and sample.count("-") == 2
    assert set(sample.replace("-", "")) <= set(ALPHABET)
    assert not set("0o1lI") & set(ALPHABET)
