"""Keep freed memory for the next training step instead of handing it back to the OS.

Every training step allocates the same large arrays (layer outputs, masks, gradients) and
frees them again.  glibc's ``malloc`` (Linux) returns freed memory at the top of its heap
to the operating system once more than a few MB are free, so the next step asks for it
again, and the first write to each 4 KiB page of it is a *page fault*: the kernel stops the
program to find and zero a page.  A LeNet step at batch 64 took about 600 of them, 15-25% of
its time on a 2-core VM (the seed net: about 250, a third of its time).

``keep_freed_memory()`` tells malloc to keep up to ``trim_mb`` of freed memory and to serve
arrays up to 32 MB from that heap (``mallopt``, the same settings as the environment
variables ``MALLOC_TRIM_THRESHOLD_`` and ``MALLOC_MMAP_THRESHOLD_``).  The process then
stays at the memory it has already used at its peak instead of shrinking between steps.
It is a setting of the whole process (NumPy's arrays and any other library's, PyTorch's
too), lasts until the process ends, and does nothing on other C libraries (macOS, Windows,
musl) or when the user tuned malloc already (those variables, or ``glibc.malloc`` settings
in ``GLIBC_TUNABLES``).  ``cnn-numpy train`` calls it; a library
function (``fit`` included) never calls it unasked.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import numbers
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's upper limit on 64-bit machines

_applied: bool | None = None


def keep_freed_memory(trim_mb: int = 1024) -> bool:
    """Ask glibc's malloc to keep up to ``trim_mb`` MB of freed memory (1 to 2047; see the
    module docstring).

    Returns True if the setting is in force (now or from an earlier call), False where it
    does not apply: not glibc, or the user set ``MALLOC_TRIM_THRESHOLD_``,
    ``MALLOC_MMAP_THRESHOLD_`` or a ``glibc.malloc`` tunable (their choice wins).
    """
    global _applied
    # mallopt takes a C int of bytes: 2047 MB is the most it can hold
    if (
        isinstance(trim_mb, bool)
        or not isinstance(trim_mb, numbers.Integral)
        or not 1 <= trim_mb <= 2047
    ):
        raise ValueError(
            f"keep_freed_memory: trim_mb must be a whole number of MB from 1 to "
            f"2047, got {trim_mb!r}"
        )
    if _applied is not None:
        return _applied
    if (
        not sys.platform.startswith("linux")
        or any(v in os.environ for v in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"))
        or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")
    ):
        _applied = False
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        _applied = False
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # both values are set: setting either one turns off glibc's own adjustment of the other
    _applied = bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
        and mallopt(M_TRIM_THRESHOLD, int(trim_mb) * 2**20)
    )
    return _applied


def is_kept() -> bool:
    """Whether ``keep_freed_memory`` is in force in this process (DataParallel's worker
    processes then ask for it too)."""
    return _applied is True
