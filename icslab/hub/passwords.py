"""bcrypt password hashes in FirstUseAuthenticator's dbm file, behind a file lock,
and beside them what the hub and `icslab passwords` share about logins.

FirstUseAuthenticator opens its dbm file per request without locking. Python's
fallback dbm backend (dbm.dumb, used where gdbm is missing) rewrites its index
non-atomically, so the hub and an instructor's `icslab passwords reset` must
never touch it at the same time: every access here holds an exclusive flock.

`logins.json` (same folder, same lock, mode 0600) holds the accounts' locks (so
an instructor sees and lifts them, and a hub restart keeps them) and the users
whose sessions the hub must end (a reset made outside the hub).
"""

from __future__ import annotations

import dbm
import fcntl
import functools
import json
import math
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import bcrypt

from icslab.files import write_atomic
from icslab.space import require_room

# Letters and digits that cannot be misread on a printed credentials sheet.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# OWASP's minimum work factor. Each login costs one hash on the hub's CPU: at
# 12 rounds (0.3 s here) twenty participants logging in at 9:00 on a 2-core
# server wait 3 s for bcrypt alone; at 10 rounds, under a second. Existing
# hashes keep the cost they were made with.
BCRYPT_ROUNDS = 10


# bcrypt reads at most 72 bytes of a password (bcrypt 5 raises beyond that).
MAX_PASSWORD_BYTES = 72
TOO_LONG = (
    f"Passwords are at most {MAX_PASSWORD_BYTES} bytes long (letters outside ASCII count 2-4)."
)


# A lock against every address (the others hold against the one that guessed).
EVERYWHERE = "*"


def too_long(password: str) -> bool:
    return len(password.encode("utf-8")) > MAX_PASSWORD_BYTES


def generate_password(groups: int = 3, size: int = 4) -> str:
    """A random password such as `k7mq-x2fa-9tnb` (about 59 bits), easy to type."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(size)) for _ in range(groups))


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> bytes:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds))


@functools.cache
def _unknown_user_hash() -> bytes:
    return hash_password(secrets.token_urlsafe(16))


class PasswordStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.logins_path = self.path.with_name("logins.json")

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            lock_path.chmod(0o600)
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def _open(self, flag: Literal["r", "w", "c", "n"]) -> Iterator[dbm._Database]:
        with self._exclusive(), dbm.open(str(self.path), flag, 0o600) as db:
            yield db

    @contextmanager
    def _logins(self) -> Iterator[dict]:
        """{"locks": {username: {address, or "*" for all: end (Unix time)}},
        "sign_out": [username]}; written back only when changed (the hub reads it
        every second)."""
        with self._exclusive():
            try:
                text = self.logins_path.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = "{}"
            state = {"locks": {}, "sign_out": [], **json.loads(text)}
            before = json.dumps(state)
            yield state
            now = time.time()
            state["locks"] = {
                name: live
                for name, scopes in state["locks"].items()
                if (live := {scope: end for scope, end in scopes.items() if end > now})
            }
            after = json.dumps(state)
            if after != before:
                write_atomic(self.logins_path, after.encode("utf-8"), 0o600)

    def usernames(self) -> set[str]:
        with self._open("c") as db:
            # gdbm objects are not iterable; every dbm backend has keys(), as bytes.
            return {key.decode("utf-8") for key in db.keys() if isinstance(key, bytes)}  # noqa: SIM118

    def hash_of(self, username: str) -> bytes | None:
        with self._open("c") as db:
            return db.get(username.encode("utf-8"))

    def set_hashes(self, hashes: dict[str, bytes]) -> None:
        # dbm rewrites its index in place: on a full disk, refuse before touching it.
        require_room(self.path.parent, 4096 * (len(hashes) + 1), "the new password")
        with self._open("c") as db:
            for username, hashed in hashes.items():
                db[username.encode("utf-8")] = hashed

    def set_password(self, username: str, password: str) -> None:
        """A new password also lifts the account's lock."""
        self.set_hashes({username: hash_password(password)})
        self.unlock([username])

    def remove(self, usernames: set[str]) -> None:
        with self._open("c") as db:
            for username in usernames:
                key = username.encode("utf-8")
                if key in db:
                    del db[key]

    def check(self, username: str, password: str) -> bool:
        """True when the password matches; unknown users never match (no first use),
        but cost the same bcrypt check, so the answer's time does not tell who exists."""
        stored = self.hash_of(username)
        if too_long(password):  # no stored password can be that long
            return False
        matches = bcrypt.checkpw(password.encode("utf-8"), stored or _unknown_user_hash())
        return stored is not None and matches

    # -- locks (wall-clock times: the hub and `icslab passwords` are two processes) --

    def locks(self) -> dict[str, dict[str, int]]:
        """username -> {the address its lock holds against, or EVERYWHERE: seconds left}."""
        with self._logins() as state:
            now = time.time()
            return {
                name: {scope: math.ceil(end - now) for scope, end in scopes.items() if end > now}
                for name, scopes in state["locks"].items()
                if max(scopes.values()) > now
            }

    def seconds_locked(self, username: str, address: str) -> int:
        scopes = self.locks().get(username, {})
        return max(scopes.get(address, 0), scopes.get(EVERYWHERE, 0))

    def lock(self, username: str, seconds: int, address: str = EVERYWHERE) -> None:
        with self._logins() as state:
            state["locks"].setdefault(username, {})[address] = time.time() + seconds

    def unlock(self, usernames: Iterable[str] | None = None) -> list[str]:
        """Lift these users' locks (everyone's if None); returns who was locked."""
        with self._logins() as state:
            now = time.time()
            locked = {n for n, scopes in state["locks"].items() if max(scopes.values()) > now}
            lifted = sorted(locked if usernames is None else locked & set(usernames))
            for name in lifted:
                del state["locks"][name]
        return lifted

    # -- sign-out requests: a reset made outside the hub, carried out by the hub --

    def request_sign_out(self, username: str) -> None:
        with self._logins() as state:
            if username not in state["sign_out"]:
                state["sign_out"].append(username)

    def sign_out_requests(self) -> list[str]:
        if not self.logins_path.exists():  # the hub asks every second: spare it the lock
            return []
        with self._logins() as state:
            return list(state["sign_out"])

    def signed_out(self, usernames: Iterable[str]) -> None:
        done = set(usernames)
        with self._logins() as state:
            state["sign_out"] = [name for name in state["sign_out"] if name not in done]
