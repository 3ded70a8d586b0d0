"""Memory that DataParallel's processes share: files mapped into memory by both the main
process and a worker (``SharedBlock``), where the weights, the workers' weight gradients and
their input slices live, so that none of them is copied per step."""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile

import numpy as np

ALIGN = 64  # bytes: each shared array starts on a cache line


class SharedBlock:
    """A file mapped into memory by this process and by a worker: arrays in it are shared.

    It lives in ``/dev/shm`` (RAM) where there is one.  The file's name is removed once the
    worker has mapped it (``unlink``); the memory stays until both processes let go of it.
    """

    def __init__(self, nbytes: int | None, path: str | None = None):
        """A new block of ``nbytes``, or (``path``) the whole of an existing one."""
        if path is None:
            shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
            fd, path = tempfile.mkstemp(prefix="cnn-numpy-", dir=shm)
            CREATED.add(path)
            with os.fdopen(fd, "wb") as f:
                try:  # reserve the memory now: a full /dev/shm is an error here, not a crash later
                    if hasattr(os, "posix_fallocate"):
                        os.posix_fallocate(f.fileno(), 0, max(nbytes, 1))
                    f.truncate(max(nbytes, 1))
                except OSError as err:
                    unlink(path)
                    raise OSError(
                        f"DataParallel: no room for {nbytes:,} bytes of shared memory "
                        f"in {os.path.dirname(path)} ({err}); free some, or use fewer "
                        "workers or smaller batches"
                    ) from err
        self.path = path
        self.memory = np.memmap(path, np.uint8, mode="r+")

    def array(self, offset: int, shape: tuple[int, ...], dtype) -> np.ndarray:
        return np.ndarray(shape, dtype, buffer=self.memory, offset=offset)

    def arrays(self, layout: list[tuple[int, tuple, str]]) -> list[np.ndarray]:
        return [self.array(offset, shape, dtype) for offset, shape, dtype in layout]

    def unlink(self) -> None:
        unlink(self.path)


#: the files this process made for shared memory: removed once mapped, at the latest at exit
CREATED: set[str] = set()


def unlink(path: str) -> None:
    if path in CREATED:
        with contextlib.suppress(OSError):
            os.unlink(path)
            CREATED.discard(path)  # kept if it failed (a mapped file on Windows): tried at exit


@atexit.register
def unlink_all() -> None:
    for path in list(CREATED):
        unlink(path)


def pack(arrays: list[np.ndarray]) -> tuple[list[tuple[int, tuple, str]], int]:
    """Where each array goes in one shared block: [(offset, shape, dtype), ...], total bytes."""
    layout, end = [], 0
    for a in arrays:
        layout.append((end, a.shape, a.dtype.str))
        end += -(-a.nbytes // ALIGN) * ALIGN  # round up to the next cache line
    return layout, end
