"""Roster logins: FirstUseAuthenticator's password store and change-password page,
without its first-use sign-up, plus lockouts after repeated wrong passwords.

Why this and not NativeAuthenticator: NativeAuthenticator 1.3.0 fails every
login on JupyterHub 6 (it calls the removed statsd client). FirstUse works on
6.1.1 and keeps bcrypt hashes; what it lacks for a lab (roster-only accounts,
lockouts, locks and resets shared with the `icslab passwords` command, signing
a user out everywhere when their password changes) is added here.

Limits on guessing, so that one computer can neither guess for long nor lock
anyone else out (an instructor, the whole room):
- one client address gets `max_failed_logins_per_address` wrong passwords per
  `address_window_seconds`, whatever the accounts; beyond, it is refused unchecked;
- `max_failed_logins` wrong passwords in a row for one account from one address
  lock that account against that address for `lockout_seconds`;
- twice as many for one account within `lockout_seconds` from anywhere (guesses
  from several computers) lock it against everyone.
Locks live in the password store, where `icslab passwords` lists and lifts them.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import math
import time
from pathlib import Path

from firstuseauthenticator import FirstUseAuthenticator
from jupyterhub import orm
from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from jupyterhub.utils import new_token
from tornado import web
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Integer, default

from icslab.errors import InputError
from icslab.hub.passwords import EVERYWHERE, TOO_LONG, PasswordStore, too_long

TEMPLATES = Path(__file__).parent / "templates"
PASSWORD_CHANGED = "Your password has been changed."


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip  # node writes IPv4 as ::ffff:a.b.c.d


def client_address(peer: str, forwarded_for: str | None) -> str:
    """The address the front door saw. Only proxies on this machine (the TLS front,
    configurable-http-proxy) are trusted, each to have appended the address it saw to
    X-Forwarded-For, so walk back from the hub's own peer while the hop is loopback.
    Nothing a client writes is trusted (tornado's remote_ip takes X-Real-Ip from anyone,
    e.g. a container calling the hub's port directly, and behind the TLS front it is
    the front's own 127.0.0.1)."""
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    address = peer
    while (ip := _ip(address)) is not None and ip.is_loopback and hops:
        address = hops.pop()
    ip = _ip(address)
    return str(ip) if ip is not None else address  # garbage from a local client: its own key


def request_address(request) -> str:
    address = getattr(getattr(request.connection, "context", None), "address", None)
    # tornado's own record of the socket's peer (a Unix socket's peer is this machine)
    peer = address[0] if isinstance(address, tuple) else "127.0.0.1"
    return client_address(peer, request.headers.get("X-Forwarded-For"))


def sign_out(db, user) -> None:
    """End every session of a JupyterHub User: a new cookie id makes every login cookie
    worthless, and their API and OAuth tokens go (a server's cookie holds an OAuth
    token). Their running servers keep their own tokens (known by value; one started
    before the hub restarted is not known, and loses its token too)."""
    servers = (orm.APIToken.find(db, s.api_token) for s in user.spawners.values() if s.api_token)
    kept = {token.id for token in servers if token is not None}
    user.orm_user.cookie_id = new_token()
    for token in list(user.orm_user.api_tokens):
        if token.id not in kept:
            db.delete(token)
    db.commit()


class ChangePasswordHandler(BaseHandler):
    """/hub/auth/change-password: FirstUse's page asks only for the new password;
    asking for the current one too (counted as a login is) stops anyone at an
    unlocked laptop from taking over the account."""

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
        try:  # a stolen session must not guess without limit either
            right = await self.authenticator.check_password(self, username, current)
        except web.HTTPError as refused:  # throttled, locked, or too long
            self.set_status(refused.status_code)
            await self._page(alert="danger", result_message=refused.log_message)
            return
        if not right:
            self.set_status(403)
            await self._page(alert="danger", result_message="Your current password is wrong.")
            return
        message = await asyncio.to_thread(self.authenticator.reset_password, username, new)
        ok = message == PASSWORD_CHANGED
        if ok:
            # Whoever else had the old password (a copied cookie, a token) is out; this
            # browser gets a login cookie with the new cookie id and stays in.
            sign_out(self.db, self.current_user)
            self.set_hub_cookie(self.current_user)
            message += " Every other session and token of yours has been signed out."
        self.set_status(200 if ok else 400)
        await self._page(alert="success" if ok else "danger", result_message=message)


class RosterAuthenticator(FirstUseAuthenticator):
    """Only roster users with a stored password can log in; wrong passwords lock."""

    max_failed_logins = Integer(
        5,
        config=True,
        help="Wrong passwords in a row for one account from one address, after which the "
        "account is locked against that address (twice as many from anywhere within "
        "lockout_seconds lock it against everyone).",
    )
    lockout_seconds = Integer(300, config=True, help="Seconds a lock lasts.")
    max_failed_logins_per_address = Integer(
        10,
        config=True,
        help="Wrong passwords from one client address (for any usernames) within "
        "address_window_seconds, beyond which that address is refused without a check.",
    )
    address_window_seconds = Integer(
        300, config=True, help="The window max_failed_logins_per_address counts over."
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
        # Hashes, locks and sign-out requests, shared with `icslab passwords`.
        self._store = PasswordStore(self.dbm_path)
        # username -> address -> its wrong passwords in a row for that account
        self._in_a_row: collections.defaultdict[str, collections.Counter[str]] = (
            collections.defaultdict(collections.Counter)
        )
        # username -> monotonic times of its wrong passwords (any address) in the window
        self._recent: collections.defaultdict[str, collections.deque[float]] = (
            collections.defaultdict(collections.deque)
        )
        # address -> monotonic times of its wrong passwords (any account) in its window
        self._address_failures: collections.defaultdict[str, collections.deque[float]] = (
            collections.defaultdict(collections.deque)
        )
        # One check at a time per address, then per user: attempts sent all at once
        # are judged in turn, each after the last one's failure was counted.
        self._checking_address: collections.defaultdict[str, asyncio.Lock] = (
            collections.defaultdict(asyncio.Lock)
        )
        self._checking: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )

    @staticmethod
    def _within(times: collections.deque[float], window: int) -> collections.deque[float]:
        horizon = time.monotonic() - window
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def seconds_throttled(self, address: str) -> int:
        """How long this address is still refused (0: it may try)."""
        window, limit = self.address_window_seconds, self.max_failed_logins_per_address
        failures = self._within(self._address_failures.get(address, collections.deque()), window)
        if len(failures) < limit:
            return 0
        # When the oldest failure that keeps it at the limit leaves the window.
        return math.ceil(failures[-limit] + window - time.monotonic())

    def _record_failure(self, username: str, address: str) -> None:
        self._address_failures[address].append(time.monotonic())
        if username not in self.allowed_users:
            return
        in_a_row = self._in_a_row[username]
        in_a_row[address] += 1
        recent = self._recent[username]
        recent.append(time.monotonic())
        if len(self._within(recent, self.lockout_seconds)) >= 2 * self.max_failed_logins:
            # Guesses from several addresses: nobody may try until the lock ends.
            self._forget(username)
            self._store.lock(username, self.lockout_seconds, EVERYWHERE)
            self.log.warning("Locked %s for %ss, for everyone", username, self.lockout_seconds)
        elif in_a_row[address] >= self.max_failed_logins:
            # Against this address only: a guesser cannot lock the owner out.
            del in_a_row[address]
            self._store.lock(username, self.lockout_seconds, address)
            self.log.warning(
                "Locked %s for %ss against %s", username, self.lockout_seconds, address
            )

    def _forget(self, username: str) -> None:
        self._in_a_row.pop(username, None)
        self._recent.pop(username, None)

    async def authenticate(self, handler, data):
        if not data:  # a request with no login form at all (e.g. an API call)
            return None
        username = self.normalize_username(data.get("username", ""))
        right = await self.check_password(handler, username, data.get("password", ""))
        return username if right else None

    async def check_password(self, handler, username: str, password: str) -> bool:
        """Whether the password is right; the login and change-password pages both ask
        here, so both count. Raises HTTPError (its message is for the user) when the
        address is throttled, the account locked, or the password too long."""
        address = request_address(handler.request) if handler is not None else "unknown"
        async with self._checking_address[address]:
            throttled = self.seconds_throttled(address)
            if throttled:
                # Refused unchecked, so not counted against the accounts it tries.
                raise web.HTTPError(
                    429,
                    "Too many wrong passwords from your computer: try again in "
                    f"{throttled} seconds.",
                )
            if username not in self.allowed_users:
                # As slow as a wrong password of a real user: the time tells nobody who exists.
                await asyncio.to_thread(self._store.check, username, password)
                self._record_failure(username, address)
                return False
            async with self._checking[username]:
                return await self._check(username, password, address)

    async def _check(self, username: str, password: str, address: str) -> bool:
        locked = await asyncio.to_thread(self._store.seconds_locked, username, address)
        if locked:
            # JupyterHub shows this message on the login form.
            raise web.HTTPError(
                403,
                f"Too many wrong passwords: this account is locked for {locked} more seconds. "
                "Ask an instructor if you have lost your password.",
            )
        if too_long(password):
            self._record_failure(username, address)  # a wrong password all the same
            raise web.HTTPError(403, TOO_LONG)  # shown on the login form
        # bcrypt takes ~0.1 s: keep the hub's event loop free for everyone else.
        if not await asyncio.to_thread(self._store.check, username, password):
            self._record_failure(username, address)
            return False
        self._forget(username)
        return True

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
        try:
            self._store.set_password(username, new_password)
        except InputError as error:  # a full disk: the old password stays
            return " ".join(error.problems)
        self._forget(username)
        self.log.info("%s changed their password", username)
        return PASSWORD_CHANGED

    def get_handlers(self, app):
        self._app = app
        # `icslab passwords reset` runs outside the hub and asks through the store;
        # the hub signs the user out within a second (at once for resets made while
        # it was down).
        IOLoop.current().add_callback(self._sign_out_requested)
        PeriodicCallback(self._sign_out_requested, 1000).start()
        # JupyterHub's own login form shows our lockout messages.
        return [(r"/auth/change-password", ChangePasswordHandler)]

    def _sign_out_requested(self) -> None:
        names = self._store.sign_out_requests()
        for name in names:
            found = orm.User.find(self._app.db, name)
            if found is not None:
                sign_out(self._app.db, self._app.users[found])
            self._forget(name)
            self.log.info("Signed %s out everywhere: their password was reset", name)
        if names:
            self._store.signed_out(names)
        self._forget_old_failures()

    def _forget_old_failures(self) -> None:
        """Keep memory bounded: drop what is older than its window, and idle per-address
        locks (an unlocked asyncio.Lock has neither holder nor waiter)."""
        for address, failures in list(self._address_failures.items()):
            if not self._within(failures, self.address_window_seconds):
                del self._address_failures[address]
        for username, failures in list(self._recent.items()):
            if not self._within(failures, self.lockout_seconds):
                self._forget(username)
        for address, lock in list(self._checking_address.items()):
            if not lock.locked():
                del self._checking_address[address]
