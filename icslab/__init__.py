"""icslab: a Jupyter workshop environment for ICS security training."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def check(name: str, answer: Any, /, **context: Any) -> Any:
    """Check a workshop exercise's answer (see icslab.checks): prints the verdict and
    returns a Verdict, true when right. Imported lazily: the `icslab` command does not
    pay for it."""
    from icslab.checks import check as run_check

    return run_check(name, answer, **context)
