"""Reading what a server or training process prints, line by line, with a deadline."""

from __future__ import annotations

import os
import select
import subprocess
import time


def next_line(process: subprocess.Popen, timeout: float = 60) -> str:
    """The next line ``process`` prints on stdout ("" once it exits), or an AssertionError
    after ``timeout`` seconds, never a hang.  Read a byte at a time from the pipe itself: a
    buffered ``readline`` can take two lines at once, and ``select`` then waits in vain for
    the second, already read (a flaky failure in CI)."""
    fd, line = process.stdout.fileno(), b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"the process printed {line!r} and then nothing" if line else "nothing"
        byte = os.read(fd, 1)
        if not byte:  # it exited
            break
        line += byte
    return line.decode()
