"""`train --live` without the CLI: fit's hooks feed Server-Sent Events at GET /events, a late
client first gets the history, the training thread only records, and after training the
page gets the draw view of the trained model."""

from __future__ import annotations

import http.client
import json
import threading
import time

import numpy as np
import pytest
from helpers import Hooks
from helpers.events import follow_events

from cnn_numpy import SGD, CrossEntropyLoss, History, fit, seed_net, synthetic_lines
from cnn_numpy.tools.live import LiveTraining
from cnn_numpy.tools.live.feed import EventFeed

CARD = {
    "dataset": "lines",
    "class_names": ["vertical", "horizontal"],
    "normalize": {"mean": 0.0, "std": 1.0},
    "input_shape": [1, 28, 28],
    "epochs": 2,
    "test_acc": 1.0,
}


def read_events(port: int, count: int, last_id: str | None = None) -> list[tuple[int, dict]]:
    """The first ``count`` events of GET /events as ``(id, dict)``, or fewer if it ends."""
    return list(follow_events(port, count, last_id))


def train(live: LiveTraining, epochs: int = 2, pause: float = 0.0) -> History:
    X, y = synthetic_lines(20, rng=0)  # 40 images: 5 batches of 8
    model = live.model

    def on_batch_end(epoch, step, loss):
        live.on_batch_end(epoch, step, loss)
        time.sleep(pause)

    return fit(
        model,
        CrossEntropyLoss(),
        live.optimizer,
        (X, y),
        epochs=epochs,
        batch_size=8,
        test=(X, y),
        rng=0,
        callbacks=[Hooks(on_batch_end=on_batch_end, on_epoch_end=live.on_epoch_end)],
    )


@pytest.fixture
def live():
    model = seed_net(2, filters=3, rng=0)
    session = LiveTraining(
        "127.0.0.1",
        0,
        model,
        SGD(model.parameters(), lr=0.05),
        epochs=2,
        batches=5,
        title="lines, seed",
        interval=0.02,
    ).start()
    yield session
    session.close()


def test_a_late_client_first_gets_the_history(live):
    train(live)
    live.finished(live.model, CARD)
    events = read_events(live.server.port, count=1 + 10 + 2 + 1)
    kinds = [event["type"] for _, event in events]
    assert kinds == ["start"] + ["batch"] * 5 + ["epoch"] + ["batch"] * 5 + ["epoch", "done"]
    assert [event_id for event_id, _ in events] == list(range(len(events)))
    for _, event in events:
        assert {"epoch", "batch", "loss"} <= set(event)
    batches = [event for _, event in events if event["type"] == "batch"]
    assert [(b["epoch"], b["batch"]) for b in batches] == [
        (e, s) for e in (1, 2) for s in range(1, 6)
    ]
    assert all(b["loss"] > 0 and b["lr"] == 0.05 for b in batches)
    epoch = events[6][1]
    assert epoch["epoch"] == 1 and epoch["batch"] == 5 and 0 <= epoch["test_acc"] <= 1
    assert epoch["filters"]["shape"] == [3, 1, 3, 3]
    # a page that reconnects after event 6 gets only what came after
    again = read_events(live.server.port, count=7, last_id="6")
    assert [event_id for event_id, _ in again] == list(range(7, 14))


def test_events_arrive_while_training_goes_on(live):
    received = []

    def follow():
        for _, event in follow_events(live.server.port, count=14):
            received.append((time.monotonic(), event))

    reader = threading.Thread(target=follow)
    reader.start()
    train(live, pause=0.05)  # about half a second of training
    trained = time.monotonic()
    live.finished(live.model, CARD)
    reader.join(timeout=30)
    first_batch = next(t for t, event in received if event["type"] == "batch")
    assert first_batch < trained - 0.2, "events should stream during training, not after"
    assert received[-1][1]["type"] == "done"


def test_the_training_thread_only_records(live, monkeypatch):
    """JSON and I/O happen on the publisher thread; a hook costs about a microsecond."""
    threads = set()
    publish = live.feed.publish

    def spy(*events):
        threads.add(threading.current_thread().name)
        publish(*events)

    monkeypatch.setattr(live.feed, "publish", spy)
    train(live)
    live._stop_publisher()  # its last flush, on its own thread
    assert threads == {"cnn-numpy-live-events"}
    assert len(live.feed) == 1 + 10 + 2  # start, every batch, every epoch
    start = time.perf_counter()
    for step in range(20_000):
        live.on_batch_end(1, step, 0.5)
    per_call = (time.perf_counter() - start) / 20_000
    assert per_call < 50e-6, f"on_batch_end takes {per_call * 1e6:.1f} µs"


def test_after_training_the_page_draws_with_the_trained_model(live):
    port = live.server.port
    info = lambda: json.loads(get(port, "/api/info")[1])  # noqa: E731
    assert info()["training"] is True and info()["model"] is None
    train(live, epochs=1)
    live.finished(live.model, CARD)
    after = info()
    assert after["training"] is False and after["mode"] == "train"
    assert [layer["type"] for layer in after["model"]["layers"]] == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
    ]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        "/api/stop",
        body="{}",
        headers={"Content-Type": "application/json", "X-Token": live.server.token},
    )
    assert connection.getresponse().status == 409  # nothing left to stop


def test_a_resumed_run_shows_its_earlier_epochs():
    model = seed_net(2, filters=2, rng=0)
    history = History(
        epoch=[1, 2],
        loss=[0.5, 0.3],
        train_acc=[0.8, 0.9],
        test_acc=[0.85, None],
        seconds=[1.0, 1.0],
    )
    session = LiveTraining(
        "127.0.0.1", 0, model, SGD(model.parameters(), lr=0.1), epochs=4, batches=3, history=history
    )
    try:
        events = [json.loads(m.split(b"data: ")[1]) for m in session.feed.wait(0, 0)[0]]
        assert [e["type"] for e in events] == ["start", "epoch", "epoch"]
        assert events[0]["epoch"] == 2 and events[0]["epochs"] == 4
        assert [e["loss"] for e in events[1:]] == [0.5, 0.3]
        assert events[2]["test_acc"] is None
    finally:
        session.close()


def test_the_feed_keeps_json_valid():
    feed = EventFeed()
    feed.publish(
        {
            "type": "batch",
            "epoch": 1,
            "batch": 1,
            "loss": float("nan"),
            "lr": np.float64(0.1).item(),
        }
    )
    messages, closed = feed.wait(0, 0)
    assert json.loads(messages[0].split(b"data: ")[1])["loss"] is None and not closed
    feed.close()
    assert feed.wait(1, 5) == ([], True)


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()
