"""An IPython extension: after every cell, the kernel gives the host back the heap
memory that cell freed (glibc's malloc_trim).

What a cell frees in many small blocks (pandas' and numpy's hash tables, Arrow's
readers) stays in the C library's heap, reserved for the kernel, until the kernel
exits: one historian check left 20-50 MiB behind, in every participant's kernel at
once. Trimming costs a few milliseconds a cell. On a C library without
malloc_trim (musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def heap_trimmer() -> Callable[[], object]:
    """A function that hands freed heap memory back to the host (a no-op without
    malloc_trim); also used by live plants after each history they serve."""
    library = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(library), "malloc_trim", None) if library else None
    if trim is None:
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


def load_ipython_extension(shell) -> None:
    trim = heap_trimmer()
    shell.events.register("post_run_cell", lambda result: trim())
