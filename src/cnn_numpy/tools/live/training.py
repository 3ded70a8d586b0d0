"""``cnn-numpy train --live``: the page's training view, fed by ``fit``'s two hooks.

The hooks run on the training thread, between two steps, so they do as little as possible:
``on_batch_end`` appends one tuple to a deque (no lock, no JSON, no I/O: well under a
microsecond); ``on_epoch_end`` also copies the first layer's filters (a few hundred numbers).
A publisher thread wakes four times a second, turns what piled up into JSON events and hands
them to the feed, from which every page's ``/events`` stream reads.
"""

from __future__ import annotations

import _thread
import collections
import signal
import threading
import time

from ...train import Callback, History
from .feed import EventFeed
from .filters import filters_json, first_filters
from .model_view import ModelView
from .server import LiveServer


class LiveTraining(Callback):
    """The server, the feed and the hooks of one ``train --live`` run.

    Args:
        host, port: where to serve the page (port 0: any free port).
        model: the Sequential being trained (its first filters are shown each epoch).
        optimizer: its ``lr`` is read at every batch (a schedule changes it).
        epochs: the run's total; ``batches``: batches per epoch (for the progress bar).
        history: the epochs done before (``--resume``), shown first.
        title: words for the page's header.
    """

    def __init__(
        self,
        host: str,
        port: int,
        model,
        optimizer,
        epochs: int,
        batches: int,
        history: History | None = None,
        title: str = "",
        interval: float = 0.25,
    ):
        self.model, self.optimizer = model, optimizer
        self.feed = EventFeed()
        self.server = LiveServer(host, port, feed=self.feed, on_stop=self.request_stop, title=title)
        self.pending: collections.deque = collections.deque()
        self.interval = interval
        self.started = time.perf_counter()
        self.last_batch: tuple | None = None
        self._quit = threading.Event()
        self._publisher = threading.Thread(
            target=self._publish_loop, daemon=True, name="cnn-numpy-live-events"
        )
        done = len(history or ())
        self.feed.publish(
            {
                "type": "start",
                "epoch": done,
                "batch": 0,
                "loss": None,
                "epochs": epochs,
                "batches": batches,
                "lr": optimizer.lr,
                "title": title,
                "filters": self._filters_json(first_filters(model)),
            }
        )
        for i in range(done):  # a resumed run: the epochs before, as they were
            self.feed.publish(self._epoch_event(history, i, None, None))

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> LiveTraining:
        self.server.start()
        self._publisher.start()
        return self

    # -- on the training thread: record, nothing more ------------------------------------
    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.pending.append(
            (epoch, step, loss, self.optimizer.lr, time.perf_counter() - self.started)
        )

    def on_epoch_end(self, epoch: int, history: History) -> None:
        self.pending.append(
            (history, len(history) - 1, self.optimizer.lr, first_filters(self.model))
        )

    # -- the publisher thread ------------------------------------------------------------
    def _publish_loop(self) -> None:
        while not self._quit.wait(self.interval):
            self.flush()
        self.flush()

    def flush(self) -> None:
        """Publish everything recorded so far (called by the publisher thread)."""
        events = []
        while self.pending:
            record = self.pending.popleft()
            if len(record) == 5:
                epoch, step, loss, lr, seconds = self.last_batch = record
                events.append(
                    {
                        "type": "batch",
                        "epoch": epoch,
                        "batch": step,
                        "loss": float(loss),
                        "lr": lr,
                        "t": round(seconds, 3),
                    }
                )
            else:
                history, i, next_lr, filters = record
                events.append(self._epoch_event(history, i, next_lr, filters))
        if events:
            self.feed.publish(*events)

    def _epoch_event(self, history: History, i: int, next_lr, filters) -> dict:
        batch = self.last_batch
        return {
            "type": "epoch",
            "epoch": history.epoch[i],
            "batch": batch[1] if batch else None,
            "loss": history.loss[i],
            "train_acc": history.train_acc[i],
            "test_acc": history.test_acc[i],
            "test_loss": history.test_loss[i],
            "seconds": history.seconds[i],
            "lr": batch[3] if batch else None,
            "next_lr": next_lr,
            "filters": self._filters_json(filters),
        }

    @staticmethod
    def _filters_json(filters: dict | None) -> dict | None:
        return filters_json(filters)

    # -- the end of training ---------------------------------------------------------------
    def request_stop(self) -> None:
        """The page's Stop button: what Ctrl-C does, a KeyboardInterrupt in the main thread
        (the training loop saves the checkpoint and prints how to resume)."""
        _thread.interrupt_main(signal.SIGINT)

    def finished(self, model, card: dict, name: str = "", novelty=None) -> None:
        """Training is over: the page keeps its curves and gets the draw view of ``model``
        (with its ``novelty`` check, if it has one: see ``ModelView``)."""
        self._stop_publisher()
        self.server.view = ModelView(model, card, name=name, novelty=novelty)
        self.feed.publish(
            {
                "type": "done",
                "epoch": card.get("epochs"),
                "batch": None,
                "loss": card.get("loss"),
                "test_acc": card.get("test_acc"),
            }
        )

    def stopped(self, resume_command: str) -> None:
        """Training was interrupted: tell the page how to resume, then close the server."""
        self._stop_publisher()
        self.feed.publish(
            {
                "type": "stopped",
                "epoch": None,
                "batch": None,
                "loss": None,
                "resume": resume_command,
            }
        )
        self.close()

    def close(self) -> None:
        self._stop_publisher()
        self.feed.close()
        self.feed.wait_for_followers(timeout=1.0)  # let open pages read the last events
        self.server.stop()

    def _stop_publisher(self) -> None:
        self._quit.set()
        if self._publisher.is_alive():
            self._publisher.join()
        else:
            self.flush()
