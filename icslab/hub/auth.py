"""Roster logins: FirstUseAuthenticator's password store and change-password page,
without its first-use sign-up, plus a lockout after repeated wrong passwords.

Why this and not NativeAuthenticator: NativeAuthenticator 1.3.0 fails every
login on JupyterHub 6 (it calls the removed statsd client). FirstUse works on
6.1.1 and keeps bcrypt hashes; what it lacks for a lab (roster-only accounts,
lockout, a lock shared with the `icslab passwords` command) is added here.
"""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

from firstuseauthenticator import FirstUseAuthenticator
from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from tornado import web
from traitlets import Integer, default

from icslab.hub.passwords import TOO_LONG, PasswordStore, too_long

TEMPLATES = Path(__file__).parent / "templates"
PASSWORD_CHANGED = "Your password has been changed."


class ChangePasswordHandler(BaseHandler):
    """/hub/auth/change-password: FirstUse's page asks only for the new password;
    asking for the current one too stops anyone at an unlocked laptop from
    taking over the account."""

    async def _page(self, **result) -> None:
        # Found through JupyterHub.template_paths (see configure.py).
        html = await self.render_template(
            "change-password.html", min_length=self.authenticator.min_password_length, **result
        )
        self.finish(html)

    @web.authenticated
    async def get(self):
        await self._page()

    @web.authenticated
    async def post(self):
        username = self.current_user.name
        current = self.get_body_argument("current_password", default="", strip=False)
        new = self.get_body_argument("password", default="", strip=False)
        store = self.authenticator._store
        if not await asyncio.to_thread(store.check, username, current):
            self.set_status(403)
            await self._page(alert="danger", result_message="Your current password is wrong.")
            return
        message = await asyncio.to_thread(self.authenticator.reset_password, username, new)
        ok = message == PASSWORD_CHANGED
        self.set_status(200 if ok else 400)
        await self._page(alert="success" if ok else "danger", result_message=message)


class RosterAuthenticator(FirstUseAuthenticator):
    """Only roster users with a stored password can log in; wrong passwords lock."""

    max_failed_logins = Integer(
        5, config=True, help="Consecutive wrong passwords after which an account is locked."
    )
    lockout_seconds = Integer(
        300, config=True, help="Seconds a locked account refuses every login attempt."
    )

    @default("create_users")
    def _no_sign_up(self):
        return False

    @default("check_passwords_on_startup")
    def _roster_names_are_normalized(self):
        # The roster only admits lowercase names; skip FirstUse's unlocked db rewrite.
        return False

    @default("allow_all")
    def _roster_only(self):
        return False

    @default("allow_existing_users")
    def _not_from_database(self):
        # The roster is the truth: a user removed from it must not stay allowed.
        return False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._store = PasswordStore(self.dbm_path)
        self._failures: dict[str, int] = {}
        # username -> (monotonic time the lock ends, password hash when locked)
        self._locks: dict[str, tuple[float, bytes | None]] = {}
        # One password check at a time per user: attempts sent all at once are judged
        # in turn, each after the last one's failure counted (or its lock set).
        self._checking: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )

    def seconds_locked(self, username: str) -> int:
        until, _ = self._locks.get(username, (0.0, None))
        remaining = until - time.monotonic()
        return round(remaining + 0.5) if remaining > 0 else 0

    def _record_failure(self, username: str) -> None:
        self._failures[username] = self._failures.get(username, 0) + 1
        if self._failures[username] >= self.max_failed_logins:
            self._failures.pop(username)
            until = time.monotonic() + self.lockout_seconds
            self._locks[username] = (until, self._store.hash_of(username))
            self.log.warning(
                "Locked %s for %ss after %s wrong passwords",
                username,
                self.lockout_seconds,
                self.max_failed_logins,
            )

    async def authenticate(self, handler, data):
        if not data:  # a request with no login form at all (e.g. an API call)
            return None
        username = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if username not in self.allowed_users:
            # As slow as a wrong password of a real user: the time tells nobody who exists.
            await asyncio.to_thread(self._store.check, username, password)
            return None
        async with self._checking[username]:
            return await self._check(username, password)

    async def _check(self, username: str, password: str) -> str | None:
        locked = self.seconds_locked(username)
        if locked and await asyncio.to_thread(self._password_reset_since_lock, username):
            locked = 0
        if locked:
            # JupyterHub shows this message on the login form.
            raise web.HTTPError(
                403,
                f"Too many wrong passwords: this account is locked for {locked} more seconds. "
                "Ask an instructor if you have lost your password.",
            )
        if too_long(password):
            self._record_failure(username)  # a wrong password all the same
            raise web.HTTPError(403, TOO_LONG)  # shown on the login form
        # bcrypt takes ~0.3 s: keep the hub's event loop free for everyone else.
        if not await asyncio.to_thread(self._store.check, username, password):
            self._record_failure(username)
            return None
        self._failures.pop(username, None)
        self._locks.pop(username, None)
        return username

    def _password_reset_since_lock(self, username: str) -> bool:
        """An instructor's `icslab passwords reset` lifts the lock at once."""
        _, hash_when_locked = self._locks[username]
        return self._store.hash_of(username) != hash_when_locked

    def add_user(self, user):
        # Raising here makes JupyterHub delete users no longer in the roster
        # (with delete_invalid_users); their files stay on disk.
        if user.name not in self.allowed_users:
            raise ValueError(f"{user.name} is not in the roster")
        return super().add_user(user)

    def delete_user(self, user):
        self._store.remove({user.name})
        Authenticator.delete_user(self, user)

    def reset_password(self, username, new_password):
        """Set a logged-in user's new password (FirstUse's method, same contract)."""
        if not self._validate_password(new_password):
            return f"Password too short: choose at least {self.min_password_length} characters."
        if too_long(new_password):
            return TOO_LONG
        self._store.set_password(username, new_password)
        self.log.info("%s changed their password", username)
        return PASSWORD_CHANGED

    def get_handlers(self, app):
        # JupyterHub's own login form shows our lockout message.
        return [(r"/auth/change-password", ChangePasswordHandler)]
