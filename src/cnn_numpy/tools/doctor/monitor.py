"""``Monitor``: watch the inside of a network while ``fit`` trains it.

Every ``every`` steps it records, for that one step, what Karpathy's makemore lessons plot:
each layer's activations (mean, std, histogram, dead ReLUs, saturated tanh/sigmoid) and each
parameter's gradient (mean, std, grad:data ratio) and update ratio |update| / |weight|.  At
the end of every epoch it keeps the first conv layer's filters, for an animation of how they
learn.  It is a ``Callback``: ``fit(..., callbacks=[PrintEpoch(), monitor])`` calls its hooks; ``save`` writes it all to ``monitor.json``, which the
run's report draws.

    >>> from cnn_numpy import SGD, CrossEntropyLoss, fit, seed_net, synthetic_lines
    >>> model, monitor = seed_net(2, rng=0), Monitor(every=10)
    >>> history = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.05),
    ...               synthetic_lines(40, rng=1), epochs=2, batch_size=8, rng=2,
    ...               callbacks=[monitor])
    >>> len(monitor.records), len(monitor.filters)      # steps 1 and 11 of 20; 2 epochs
    (2, 2)

Watching a step costs a few milliseconds (statistics are taken on an evenly spread sample of
each layer's output); every 50 steps that is about 1% of LeNet's training time
(``benchmarks/bench_monitor.py`` measures it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ...data.atomic import atomic_write_text
from ...layers import Conv2d
from ...train import Callback
from .activations import activation_stats, layer_label, layer_outputs, model_layers
from .copies import unwrapped

FILE = "monitor.json"


def parameter_stats(name: str, param, before: np.ndarray) -> dict:
    """Gradient mean and std, weight std, grad:data ratio (std of the gradient over std of
    the weights) and update ratio |after - before| / |before| of one parameter after a step."""
    grad, weight = param.grad.astype(np.float64), param.data.astype(np.float64)
    scale = float(np.linalg.norm(before))
    weight_std = float(np.std(weight))
    return {
        "name": name,
        "shape": list(param.data.shape),
        "weight_std": weight_std,
        "grad_mean": float(np.mean(grad)),
        "grad_std": float(np.std(grad)),
        "grad_data": float(np.std(grad)) / weight_std if weight_std else None,
        "update_ratio": float(np.linalg.norm(weight - before)) / scale if scale else None,
    }


class Monitor(Callback):
    """Records statistics of one training step every ``every`` steps, and the first conv
    layer's filters at every epoch end (``fit(..., callbacks=[Monitor()])``).

    With a ``DataParallel`` model the layers run in its worker processes, out of sight: only
    the parameters and their gradients are recorded (each record's ``layers`` is empty); train
    the model itself, in one process, to record its activations too.

    Attributes:
        records: one dict per watched step: ``step`` (counted from 1 over the whole run),
            ``epoch``, ``loss``, ``layers`` (``activation_stats`` of each layer's output) and
            ``params`` (``parameter_stats`` of each parameter).
        filters: one dict per epoch: ``epoch``, ``layer`` and ``weight`` (nested lists,
            shape (F, C_in, kh, kw)).

    Args:
        every: watch steps 1, 1 + every, 1 + 2 * every, ...
        max_values: statistics of each layer's output use an evenly spread sample of at most
            this many values.
        folder: if given, ``save`` into it at every epoch end (``train --monitor`` passes the
            run folder; see ``for_run``).
    """

    def __init__(
        self, every: int = 50, max_values: int = 4096, folder: str | os.PathLike | None = None
    ):
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"Monitor: every must be an int >= 1, got {every!r}")
        if (
            isinstance(max_values, bool)
            or not isinstance(max_values, (int, np.integer))
            or max_values < 2
        ):  # a spread needs two values
            raise ValueError(f"Monitor: max_values must be an int >= 2, got {max_values!r}")
        self.every, self.max_values = int(every), int(max_values)
        self.steps = 0
        self.records: list[dict] = []
        self.filters: list[dict] = []
        self.epochs: list[dict] = []  # {"epoch", "steps"}: steps done at its end
        self.folder = folder
        self.watching: dict | None = None  # the record of the step being watched
        self.before: list = []  # (name, parameter, weights before the step)

    def on_train_begin(self, model) -> None:
        self.model = model

    def on_batch_begin(self, epoch: int, step: int) -> None:
        self.before_step(self.model)

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.after_step(self.model, epoch, loss)

    def on_epoch_end(self, epoch: int, history) -> None:
        self.end_epoch(self.model, epoch)

    def before_step(self, model) -> None:
        """Before each step's forward pass: every ``every`` steps, start watching."""
        self.steps += 1
        if (self.steps - 1) % self.every:
            return
        self.watching = record = {"step": self.steps, "layers": []}
        self.before = [(name, p, p.data.copy()) for name, p in unwrapped(model).named_parameters()]
        if hasattr(model, "layers"):  # a DataParallel's layers run in its workers
            self.watch_forward(model, record)

    def watch_forward(self, model, record: dict) -> None:
        """For the next forward pass only, run ``model``'s layers one at a time and record
        each output's statistics (the instance attribute shadows the class's forward, and
        removes itself when called)."""

        def forward(x):
            del model.forward
            outputs = layer_outputs(model, x)
            record["layers"] = [
                activation_stats(label, layer, out, self.max_values)
                for label, layer, out in outputs
            ]
            return outputs[-1][2]

        model.forward = forward

    def after_step(self, model, epoch: int, loss: float) -> None:
        """After ``optimizer.step()``: finish the watched step's record."""
        if self.watching is None:
            return
        record, self.watching = self.watching, None
        record.update(epoch=epoch, loss=float(loss))
        record["params"] = [parameter_stats(name, p, old) for name, p, old in self.before]
        self.before = []
        self.records.append(record)

    def end_epoch(self, model, epoch: int) -> None:
        """At the end of each epoch: keep the first conv layer's filters
        (and save, if the monitor has a folder)."""
        self.epochs.append({"epoch": epoch, "steps": self.steps})
        for i, layer in enumerate(model_layers(unwrapped(model))):
            if isinstance(layer, Conv2d):
                self.filters.append(
                    {
                        "epoch": epoch,
                        "layer": layer_label(i, layer),
                        "weight": layer.weight.data.tolist(),
                    }
                )
                break
        if self.folder is not None:
            self.save(self.folder)

    def as_dict(self) -> dict:
        return {
            "every": self.every,
            "steps": self.steps,
            "records": self.records,
            "filters": self.filters,
            "epochs": self.epochs,
        }

    def save(self, run_dir: str | os.PathLike) -> Path:
        """Write ``monitor.json`` into ``run_dir`` (atomically); returns its path."""
        path = Path(run_dir) / FILE
        atomic_write_text(path, json.dumps(self.as_dict()) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Monitor:
        """A Monitor from a run folder's ``monitor.json`` (or the file itself), to look at or
        to continue recording into (``train --resume``)."""
        path = Path(path)
        path = path / FILE if path.is_dir() else path
        try:
            saved = json.loads(path.read_text())
            monitor = cls(every=saved["every"])
            monitor.steps = int(saved["steps"])
            monitor.records, monitor.filters = list(saved["records"]), list(saved["filters"])
            monitor.epochs = list(saved.get("epochs", []))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path} is not a monitor file saved by Monitor.save: {err}") from err
        return monitor

    @classmethod
    def for_run(cls, run_dir: str | os.PathLike, epochs_done: int = 0, every: int = 50) -> Monitor:
        """The monitor of a run folder, saving into it at every epoch end: a new one, or,
        for a run resumed after ``epochs_done`` epochs, its ``monitor.json`` continued (what
        it holds of later epochs is dropped: the checkpoint does not hold them)."""
        if epochs_done == 0 or not (Path(run_dir) / FILE).is_file():
            return cls(every=every, folder=run_dir)
        monitor = cls.load(run_dir)
        monitor.folder = run_dir
        monitor.records = [r for r in monitor.records if r["epoch"] <= epochs_done]
        monitor.filters = [f for f in monitor.filters if f["epoch"] <= epochs_done]
        monitor.epochs = [e for e in monitor.epochs if e["epoch"] <= epochs_done]
        monitor.steps = monitor.epochs[-1]["steps"] if monitor.epochs else 0
        return monitor
