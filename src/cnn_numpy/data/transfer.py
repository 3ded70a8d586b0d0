"""One HTTP transfer, watched: a per-read timeout, a speed limit (a mirror that drips is
too slow), a deadline for the whole file, and a cap on its size (a mirror that streams
without end must not fill the disk).  ``download`` tries mirrors with it."""

from __future__ import annotations

import collections
import http.client
import time
import urllib.request

USER_AGENT = "cnn-numpy (https://pypi.org/project/cnn-numpy/; python-urllib)"
CHUNK = 1 << 16
#: a mirror that sends less than this many bytes in any ``timeout`` seconds is given up on
#: (curl's ``--speed-limit 1024 --speed-time T``): a drip of bytes defeats a per-read timeout
MIN_BYTES = 1024


class TooSlow(TimeoutError):
    """Less than ``MIN_BYTES`` arrived in a window of ``timeout`` seconds."""


class Pace:
    """Watches a transfer: ``arrived(n)`` raises TooSlow once a whole ``window`` of seconds
    has passed and the bytes that arrived in the last ``window`` seconds are fewer than
    ``least``.  (A silent mirror is stopped by the socket timeout, which is the same length.)"""

    def __init__(self, window: float, least: int = MIN_BYTES):
        self.window, self.least = window, least
        self.start = time.monotonic()
        self.recent = collections.deque()  # (time, bytes) of the last ``window`` seconds
        self.recent_bytes = 0

    def arrived(self, n: int) -> None:
        now = time.monotonic()
        self.recent.append((now, n))
        self.recent_bytes += n
        while self.recent and self.recent[0][0] <= now - self.window:
            self.recent_bytes -= self.recent.popleft()[1]
        if now - self.start >= self.window and self.recent_bytes < self.least:
            raise TooSlow(
                f"too slow: {self.recent_bytes:,} bytes in the last {self.window:g} s, "
                f"less than the {self.least:,} bytes a working mirror sends"
            )


def fetch(url: str, dest, timeout: float, progress: bool, deadline: float | None = None) -> int:
    """Stream ``url`` into the open binary file ``dest``; returns the byte count.

    ``timeout`` bounds each wait for data, and a mirror that sends less than ``MIN_BYTES``
    in any ``timeout`` seconds is too slow (TooSlow), so a server that drips a byte at a
    time cannot hold us; ``deadline`` (a ``time.monotonic()`` value) bounds the whole
    transfer.  Raises on HTTP errors, timeouts and on a body shorter than its Content-Length.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        from tqdm import tqdm

        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            leave=False,
            desc=url.rsplit("/", 1)[-1],
            disable=not progress,
        ) as bar:
            received, pace = 0, Pace(timeout)
            while chunk := response.read1(CHUNK):  # whatever has arrived, at once
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError("the whole transfer took too long")
                pace.arrived(len(chunk))
                dest.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise http.client.IncompleteRead(b"", total - received)
    return received


class TooLarge(ValueError):
    """A mirror sent more bytes than the file can have."""


class Capped:
    """A binary file that refuses to grow past ``limit`` bytes (None: no cap)."""

    def __init__(self, file, limit: int | None):
        self.file, self.limit, self.size = file, limit, 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.limit is not None and self.size > self.limit:
            raise TooLarge(
                f"too large: over {self.limit:,} bytes sent, more than the file can have"
            )
        return self.file.write(data)
