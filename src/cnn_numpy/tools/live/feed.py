"""Training events for the page, as Server-Sent Events (``GET /events``).

Every event is kept, in order, so a page that connects late (or reconnects) first receives
the history so far.  Each message is ``id: N`` and one ``data:`` line of JSON; the browser's
``EventSource`` sends the last id it saw when it reconnects, and gets only what came after.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterator


def finite(value):
    """``value`` for JSON: NaN and infinities (which JSON cannot hold) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class EventFeed:
    """An append-only list of encoded events that any number of clients follow."""

    def __init__(self):
        self._messages: list[bytes] = []
        self._changed = threading.Condition()
        self._followers = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._messages)

    def publish(self, *events: dict) -> None:
        """Add events (JSON objects; non-finite floats become null) and wake every client."""
        with self._changed:
            for event in events:
                data = json.dumps(
                    {k: finite(v) for k, v in event.items()}, separators=(",", ":"), allow_nan=False
                )
                self._messages.append(f"id: {len(self._messages)}\ndata: {data}\n\n".encode())
            self._changed.notify_all()

    def wait(self, start: int, timeout: float) -> tuple[list[bytes], bool]:
        """The messages from number ``start`` on, waiting up to ``timeout`` seconds for one
        if there is none yet; and whether the feed is closed (nothing more will come)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._messages) > start or self.closed, timeout)
            return self._messages[start:], self.closed

    def close(self) -> None:
        """No more events: every client gets what is left, then its stream ends."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    @contextlib.contextmanager
    def following(self) -> Iterator[EventFeed]:
        """Count a client while its stream is open (``wait_for_followers`` waits for them)."""
        with self._changed:
            self._followers += 1
        try:
            yield self
        finally:
            with self._changed:
                self._followers -= 1
                self._changed.notify_all()

    def wait_for_followers(self, timeout: float) -> bool:
        """After ``close``: wait until every stream has sent its last events and ended."""
        with self._changed:
            return self._changed.wait_for(lambda: self._followers == 0, timeout)
