"""`icslab passwords ...`: reset a participant's password, see and lift login locks."""

from __future__ import annotations

from typing import Annotated

import typer

from icslab.cli.options import DataDirOption, group, lab_paths
from icslab.cli.output import console, errors

app = group("Participants' passwords.")


@app.command("reset")
def reset(
    username: Annotated[str, typer.Argument(help="The user whose password to reset.")],
    data_dir: DataDirOption = None,
) -> None:
    """Give a user a new random password, lift their lock and sign them out everywhere.

    The password is printed and written to credentials.csv; the hub ends the user's
    sessions and deletes their API and OAuth tokens (their running servers keep theirs).
    """
    from icslab.hub.accounts import hub_answers, reset_password, signed_out

    paths = lab_paths(data_dir)
    password = reset_password(paths, username)
    console.print(f"{username}: {password}  (also in {paths.credentials})", highlight=False)
    if not hub_answers(paths):
        console.print(f"The lab is not running: it signs {username} out when it starts.")
    elif signed_out(paths, username):
        console.print(f"{username} is signed out everywhere.")
    else:
        errors.print(f"The hub has not signed {username} out yet: see its log.")
        raise typer.Exit(1)


@app.command("locks")
def locks(data_dir: DataDirOption = None) -> None:
    """List the accounts locked after too many wrong passwords, and against whom."""
    from icslab.hub.accounts import locked_accounts
    from icslab.hub.passwords import EVERYWHERE

    locked = locked_accounts(lab_paths(data_dir))
    for name, scopes in sorted(locked.items()):
        for scope, seconds in sorted(scopes.items()):
            whom = "everyone" if scope == EVERYWHERE else scope
            console.print(
                f"{name}: locked for {seconds} more seconds against {whom}", highlight=False
            )
    if not locked:
        console.print("No account is locked.")


@app.command("unlock")
def unlock(
    usernames: Annotated[
        list[str] | None, typer.Argument(help="Whose locks to lift [default: everyone's].")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Lift accounts' locks at once (the password stays the same)."""
    from icslab.hub.accounts import unlock_accounts

    lifted = unlock_accounts(lab_paths(data_dir), usernames or [])
    for name in lifted:
        console.print(f"{name}: unlocked", highlight=False)
    for name in sorted(set(usernames or []) - set(lifted)):
        console.print(f"{name}: was not locked", highlight=False)
    if not lifted and not usernames:
        console.print("No account was locked.")
