"""bcrypt password hashes in FirstUseAuthenticator's dbm file, behind a file lock.

FirstUseAuthenticator opens its dbm file per request without locking. Python's
fallback dbm backend (dbm.dumb, used where gdbm is missing) rewrites its index
non-atomically, so the hub and an instructor's `icslab passwords reset` must
never touch it at the same time: every access here holds an exclusive flock.
"""

from __future__ import annotations

import dbm
import fcntl
import functools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bcrypt

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

    @contextmanager
    def _open(self, flag: str) -> Iterator[dbm._Database]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            lock_path.chmod(0o600)
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with dbm.open(str(self.path), flag, 0o600) as db:
                    yield db
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def usernames(self) -> set[str]:
        with self._open("c") as db:
            # gdbm objects are not iterable; every dbm backend has keys().
            return {key.decode("utf-8") for key in db.keys()}  # noqa: SIM118

    def hash_of(self, username: str) -> bytes | None:
        with self._open("c") as db:
            return db.get(username.encode("utf-8"))

    def set_hashes(self, hashes: dict[str, bytes]) -> None:
        with self._open("c") as db:
            for username, hashed in hashes.items():
                db[username.encode("utf-8")] = hashed

    def set_password(self, username: str, password: str) -> None:
        self.set_hashes({username: hash_password(password)})

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
