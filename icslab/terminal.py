"""What every `icslab` command prints with: one style for output and for refusals."""

from __future__ import annotations

import typer
from rich.console import Console

from icslab.errors import InputError

# soft_wrap: long paths and messages stay on one line, easy to copy and grep.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def fail(error: InputError) -> None:
    """List every problem on stderr and exit 2 (bad input: nothing was changed)."""
    errors.print("[bold red]Cannot continue:[/] fix the following and run the command again.")
    for problem in error.problems:
        errors.print(f"  - {problem}", highlight=False, markup=False)
    raise typer.Exit(2)
