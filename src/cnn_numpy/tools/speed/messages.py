"""Length-prefixed messages over pipes, for ``DataParallel``'s processes (workers.py, sync.py)."""

from __future__ import annotations

import select
import time


def write_message(stream, data: bytes) -> None:
    """One message: its length (8 bytes), then the bytes (a pickle)."""
    message = memoryview(len(data).to_bytes(8, "little") + data)
    while message:
        message = message[stream.write(message) :]


#: How long a process waiting for a message checks for it in a busy loop before it sleeps.
#: A process woken from sleep starts 0.1-0.2 ms late on a VM; the messages of one training
#: step come less than a millisecond apart, so the busy wait catches them.
SPIN_SECONDS = 2e-3


def read_message(stream) -> bytes:
    """The bytes of the next message (EOFError at the end of the stream)."""
    if hasattr(select, "poll"):  # POSIX: poll() works on pipes there
        poller = select.poll()
        poller.register(stream, select.POLLIN)
        end = time.perf_counter() + SPIN_SECONDS
        while not poller.poll(0) and time.perf_counter() < end:
            pass
    header = read_exactly(stream, 8)
    return read_exactly(stream, int.from_bytes(header, "little"))


def read_exactly(stream, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)
