"""Roster accounts: initial passwords, the credentials sheet, resets, locks.

`credentials.csv` (username,password; mode 0600) lists each roster user's
initial or last reset password for the instructor to hand out. The hub only
ever sees bcrypt hashes (PasswordStore). Existing users keep their passwords.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from icslab.errors import InputError
from icslab.files import write_atomic
from icslab.hub.passwords import PasswordStore, generate_password, hash_password
from icslab.lab import Lab, LabPaths

# Written for a user whose initial password this sheet never held.
NOT_ON_SHEET = "(unknown: run icslab passwords reset)"


@dataclass(frozen=True)
class AccountChanges:
    added: list[str]
    removed: list[str]
    kept: list[str]


def write_private(path: Path, text: str) -> None:
    """A secret file, mode 0600, written atomically."""
    write_atomic(path, text.encode("utf-8"), 0o600)


def ensure_secret(path: Path) -> str:
    """A random token kept in a 0600 file, generated on first use."""
    if not path.exists():
        write_private(path, secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


def read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["username"]: row["password"] for row in csv.DictReader(handle)}


def write_credentials(path: Path, credentials: dict[str, str]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["username", "password"])
    writer.writerows(credentials.items())
    write_private(path, buffer.getvalue())


def sync_accounts(paths: LabPaths, usernames: list[str]) -> AccountChanges:
    """Give new roster users a password, drop removed ones, keep everyone else's."""
    store = PasswordStore(paths.passwords)
    stored = store.usernames()
    sheet = read_credentials(paths.credentials)
    added = [name for name in usernames if name not in stored]
    removed = sorted(stored - set(usernames))
    fresh = {name: generate_password() for name in added}
    # bcrypt releases the GIL: hash a large roster on every core.
    with ThreadPoolExecutor() as pool:
        hashes = dict(zip(fresh, pool.map(hash_password, fresh.values()), strict=True))
    # The sheet first: if we stop half-way, the next run regenerates what it lacks.
    new_sheet = {name: fresh.get(name) or sheet.get(name, NOT_ON_SHEET) for name in usernames}
    write_credentials(paths.credentials, new_sheet)
    store.set_hashes(hashes)
    store.remove(set(removed))
    kept = [name for name in usernames if name not in fresh]
    return AccountChanges(added=added, removed=removed, kept=kept)


def _known(store: PasswordStore, paths: LabPaths, usernames: list[str]) -> None:
    known = store.usernames()
    unknown = [name for name in usernames if name not in known]
    if unknown:
        raise InputError(
            *(
                f"{name!r} has no account in {paths.data_dir}: check the name, or add them "
                "to the roster and restart the lab with `icslab up`"
                for name in unknown
            )
        )


def reset_password(paths: LabPaths, username: str) -> str:
    """Give one existing user a new random password; return it and note it on the sheet.
    Their lock goes, and the hub signs them out everywhere: whoever had the old
    password keeps neither a session nor a token."""
    store = PasswordStore(paths.passwords)
    _known(store, paths, [username])
    password = generate_password()
    sheet = read_credentials(paths.credentials)
    sheet[username] = password
    store.set_password(username, password)
    store.request_sign_out(username)
    write_credentials(paths.credentials, sheet)
    return password


def signed_out(paths: LabPaths, username: str, timeout: float = 10) -> bool:
    """Wait until the running hub has signed the user out (it looks every second)."""
    store = PasswordStore(paths.passwords)
    deadline = time.monotonic() + timeout
    while username in store.sign_out_requests():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def hub_answers(paths: LabPaths) -> bool:
    """Whether this data dir's hub is running (its API root needs no token)."""
    import httpx

    if not paths.lab_file.exists():
        return False
    try:
        return httpx.get(Lab.load(paths.lab_file).hub_api_url, timeout=5).is_success
    except httpx.HTTPError:
        return False


def locked_accounts(paths: LabPaths) -> dict[str, dict[str, int]]:
    """Locked usernames -> {the address a lock holds against, or "*": seconds left}."""
    return PasswordStore(paths.passwords).locks()


def unlock_accounts(paths: LabPaths, usernames: list[str]) -> list[str]:
    """Lift these users' locks (everyone's if none are named); returns who was locked.
    The hub reads the locks at every attempt: this takes effect at once."""
    store = PasswordStore(paths.passwords)
    _known(store, paths, usernames)
    return store.unlock(usernames or None)
