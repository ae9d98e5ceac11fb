"""Waiting for something to become true, with a deadline (never a bare sleep)."""

from __future__ import annotations

import time


def wait_for(condition, *, timeout: float, what: str, first_delay: float = 0.05):
    """Poll `condition` with backoff until it returns a truthy value or time runs out."""
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 1.0)
