"""Reading the live page's event stream (GET /events) in tests."""

import http.client
import json


def follow_events(port: int, count: int, last_id: str | None = None, timeout: float = 30):
    """Yield the events of GET /events as ``(id, dict)`` as they arrive, ``count`` at most."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Last-Event-ID": last_id} if last_id is not None else {}
    connection.request("GET", "/events", headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    seen, event_id = 0, None
    try:
        while seen < count:
            line = response.fp.readline().decode()
            if not line:
                break
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                seen += 1
                yield event_id, json.loads(line[6:])
    finally:
        connection.close()
