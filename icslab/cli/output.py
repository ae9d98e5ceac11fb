"""What every `icslab` command prints with: one style for output and for refusals,
and the one handler that turns bad input into a list of problems and exit code 2."""

from __future__ import annotations

import typer
from rich.console import Console
from typer.core import TyperGroup

from icslab.errors import InputError

# soft_wrap: long paths and messages stay on one line, easy to copy and grep.
# emoji=False: text is printed as it is (a fingerprint's ":CD:" is not a 💿).
console = Console(soft_wrap=True, emoji=False)
errors = Console(stderr=True, soft_wrap=True, emoji=False)


def fail(error: InputError) -> None:
    """List every problem on stderr and exit 2 (bad input: nothing was changed)."""
    errors.print("[bold red]Cannot continue:[/] fix the following and run the command again.")
    for problem in error.problems:
        errors.print(f"  - {problem}", highlight=False, markup=False)
    raise typer.Exit(2)


class RefusesBadInput(TyperGroup):
    """The root command: a command that raises InputError (bad input, nothing changed)
    gets the problems listed and exit code 2, wherever it raised: one handler for all."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as error:
            fail(error)
