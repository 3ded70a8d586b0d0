"""The training loop.  It knows nothing about the model beyond forward/backward,
parameters and train/eval mode (as nanoGPT's trainer), and returns a History (as Keras)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .data.batches import check_dataset, iterate_minibatches
from .layers.base import as_rng, input_grad
from .speed import memory


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class History:
    """Per-epoch numbers, one list entry per epoch (``test_acc`` and ``test_loss`` are None
    without test data).  ``loss`` and ``train_acc`` are running means over the epoch's batches."""

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    test_loss: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.test_loss:       # a History made without test losses: None for each epoch
            self.test_loss = [None] * len(self.epoch)

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict[str, list]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, list]) -> History:
        return cls(**{k: list(d[k]) for k in ("epoch", "loss", "train_acc", "test_acc", "seconds")},
                   test_loss=list(d.get("test_loss", [])))

    def format_epoch(self, i: int = -1) -> str:
        """The seed's line: ``Epoch 01 | loss=0.6931 | train_acc=0.850 | test_acc=0.840``."""
        line = (f"Epoch {self.epoch[i]:02d} | loss={self.loss[i]:.4f} | "
                f"train_acc={self.train_acc[i]:.3f}")
        if self.test_acc[i] is not None:
            line += f" | test_acc={self.test_acc[i]:.3f}"
        return line


def predict_proba(model, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Softmax probabilities (N, C), computed in eval mode, batch by batch."""
    was_training = model.training
    model.eval()
    try:
        chunks = []
        for start in range(0, len(X), batch_size):
            logits = model.forward(X[start : start + batch_size])
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            chunks.append(p / p.sum(axis=1, keepdims=True))
    finally:
        model.train(was_training)
    return np.concatenate(chunks)


def predict(model, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted class index for each sample, int64 (N,)."""
    return predict_proba(model, X, batch_size).argmax(axis=1).astype(np.int64)


def evaluate(model, X: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Accuracy of ``model`` on (X, y), in eval mode."""
    check_dataset(X, y, "evaluate")
    return float(np.mean(predict(model, X, batch_size) == y))


def test_metrics(model, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Accuracy and mean cross-entropy on (X, y), in eval mode, from one pass."""
    check_dataset(X, y, "test")
    proba = predict_proba(model, X)
    p_true = np.maximum(proba[np.arange(len(y)), y], np.finfo(proba.dtype).tiny)  # no log(0)
    return float(np.mean(proba.argmax(axis=1) == y)), float(-np.mean(np.log(p_true)))


def fit(model, loss, optimizer, train: tuple[np.ndarray, np.ndarray], epochs: int,
        batch_size: int = 32, test: tuple[np.ndarray, np.ndarray] | None = None, rng=None,
        scheduler=None, history: History | None = None, verbose: bool = True,
        progress: bool = False, on_epoch_end: Callable[[int, History], None] | None = None,
        on_batch_end: Callable[[int, int, float], None] | None = None,
        keep_freed_memory: bool = False, monitor=None) -> History:
    """Train ``model`` with mini-batch gradient descent; returns the History.

    Each epoch: shuffle with ``rng``, then for every batch ``zero_grad -> forward -> loss ->
    backward -> step`` (PyTorch's loop).  ``train_acc`` is the running accuracy over the
    epoch's batches; ``test_acc`` is measured in eval mode after the epoch.
    ``on_batch_end(epoch, step, loss)`` runs after each optimizer step;
    ``scheduler.step()`` after each epoch, and ``on_epoch_end(epoch, history)`` after that.
    Passing a ``history`` continues it: epochs are numbered on from ``len(history)``.
    ``monitor`` (``cnn_numpy.Monitor()``) records activation and gradient statistics every N
    steps and the first layer's filters every epoch (see doctor/monitor.py).

    ``keep_freed_memory=True`` first asks glibc's malloc to keep the memory each step frees
    for the next one (``cnn_numpy.keep_freed_memory()``), which saves the page faults of
    getting it back: 15-25% of a LeNet step on Linux.  It is a setting of the whole process
    that lasts until it exits, so it is off unless asked for; ``cnn-numpy train`` turns it on.
    """
    X, y = train
    check_dataset(X, y, "train")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    rng = as_rng(rng)
    history = History() if history is None else history
    if keep_freed_memory:
        memory.keep_freed_memory()  # see speed/memory.py
    for epoch in range(len(history) + 1, len(history) + epochs + 1):
        start = time.perf_counter()
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        batches = iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, total=math.ceil(len(X) / batch_size), leave=False,
                           desc=f"Epoch {epoch:02d}", unit="batch")
        for step, (xb, yb) in enumerate(batches, 1):
            if monitor is not None:
                monitor.before_step(model)
            optimizer.zero_grad()
            logits = model.forward(xb)
            batch_loss = loss.forward(logits, yb)
            if not math.isfinite(batch_loss):
                raise TrainingDiverged(
                    f"loss became {batch_loss} at epoch {epoch}, batch {step}: training diverged."
                    f" Try a smaller learning rate (now {optimizer.lr}).")
            with input_grad(model, False):  # nobody uses dL/d(images): the first layer skips it
                model.backward(loss.backward())
            optimizer.step()
            if monitor is not None:
                monitor.after_step(model, epoch, batch_loss)
            total_loss += batch_loss * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
            seen += len(yb)
            if progress:
                batches.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
            if on_batch_end is not None:
                on_batch_end(epoch, step, batch_loss)
        test_acc, test_loss = test_metrics(model, *test) if test is not None else (None, None)
        history.epoch.append(epoch)
        history.loss.append(total_loss / seen)
        history.train_acc.append(correct / seen)
        history.test_acc.append(test_acc)
        history.test_loss.append(test_loss)
        history.seconds.append(time.perf_counter() - start)
        if monitor is not None:
            monitor.end_epoch(model, epoch)
        if verbose:
            print(history.format_epoch(), flush=True)
        if scheduler is not None:
            scheduler.step()
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    return history
