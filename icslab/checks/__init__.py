"""Self-checks for workshop exercises: tell a participant whether an answer is right.

    import icslab
    icslab.check("historian.wide_shape", wide, plant=plant)

prints "correct", or "not yet" with a hint, and never the expected answer; in a lab,
the verdict is also recorded for the instructors' room view (`checks.recording`). An
exercise left at its placeholder (`...`) is "not answered yet", so the rest of
the notebook still runs. Each notebook's checks live in `icslab.checks.<module>`
(the part of the name before the dot), registered with `@exercise(name)`; a
check raises `Hint("what to look at")` when the answer is wrong.

With ICSLAB_CHECK_STRICT=1 (the tests of the instructor notebooks) an answer
that is not correct raises `CheckFailed`, so a broken solution fails the build.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from icslab.checks.recording import record

STRICT_ENV = "ICSLAB_CHECK_STRICT"
_CHECKS: dict[str, Callable[..., None]] = {}


class Hint(Exception):
    """A wrong answer; the message says what to look at, never what the answer is."""


class CheckFailed(AssertionError):
    """Raised in strict mode when an answer is not correct."""


class Verdict:
    """What `check` returns: true when the answer is right. Displays as nothing in a
    notebook (the check has printed its verdict already), so cells show no stray True."""

    def __init__(self, correct: bool):
        self.correct = correct

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return f"Verdict(correct={self.correct})"

    def _ipython_display_(self) -> None:
        pass


def exercise(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a check: a function(answer, **context) that raises Hint when wrong."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        if name in _CHECKS:
            raise ValueError(f"two checks are registered as {name!r}")
        _CHECKS[name] = function
        return function

    return register


def check(name: str, answer: Any, /, **context: Any) -> Verdict:
    """Check an exercise's answer; print the verdict and return whether it is right."""
    checker = _find(name)
    if _unanswered(answer):
        record(name, "not answered", hinted=False)
        return _verdict(name, False, "not answered yet: replace the `...` with your answer.")
    try:
        checker(answer, **context)
    except Hint as hint:
        record(name, "not yet", hinted=True)
        return _verdict(name, False, f"not yet. Hint: {hint}")
    except Exception as error:  # a participant's answer of the wrong type, say
        record(name, "not yet", hinted=False)
        return _verdict(
            name, False, f"not yet: checking your answer raised {type(error).__name__}: {error}"
        )
    record(name, "correct", hinted=False)
    return _verdict(name, True, "correct!")


def registered() -> list[str]:
    """The names of the checks loaded so far."""
    return sorted(_CHECKS)


def _find(name: str) -> Callable[..., None]:
    module, _, _ = name.partition(".")
    if name not in _CHECKS and module.isidentifier():
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{module}":
                raise
    if name not in _CHECKS:
        known = [known for known in _CHECKS if known.startswith(f"{module}.")]
        raise KeyError(
            f"no self-check is called {name!r}"
            + (f" (this notebook's checks: {', '.join(sorted(known))})" if known else "")
        )
    return _CHECKS[name]


def _unanswered(answer: Any) -> bool:
    if answer is Ellipsis:
        return True
    if isinstance(answer, tuple | list | dict):
        values = answer.values() if isinstance(answer, dict) else answer
        return any(value is Ellipsis for value in values)
    return False


def _verdict(name: str, correct: bool, message: str) -> Verdict:
    print(f"{'✅' if correct else '❌'} {name}: {message}")
    if not correct and os.environ.get(STRICT_ENV) == "1":
        raise CheckFailed(f"{name}: {message}")
    return Verdict(correct)
