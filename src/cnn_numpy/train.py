"""The training loop.  It knows nothing about the model beyond forward/backward,
parameters and train/eval mode (as nanoGPT's trainer), and returns a History (as Keras)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .checks import real_array, whole
from .data.batches import check_labels, checked_split, iterate_minibatches
from .layers.base import Layer, as_rng
from .layers.speed import input_grad


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
        if not self.test_loss:  # a History made without test losses: None for each epoch
            self.test_loss = [None] * len(self.epoch)

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict[str, list]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, list]) -> History:
        """The inverse of ``as_dict``; ValueError if ``d`` is not one (a damaged file)."""
        keys = ("epoch", "loss", "train_acc", "test_acc", "seconds", "test_loss")
        lists = {k: d.get(k, []) for k in keys} if isinstance(d, dict) else {}
        n = len(lists.get("epoch", ()))
        if (
            not all(
                isinstance(v, list) and len(v) in (n, 0 if k == "test_loss" else n)
                for k, v in lists.items()
            )
            or not lists
            or not all(
                v is None or isinstance(v, (int, float)) and math.isfinite(v)
                for values in lists.values()
                for v in values
            )
        ):
            raise ValueError(
                f"a History is lists of numbers of one length under the keys "
                f"{', '.join(keys)}; got {str(d)[:120]}"
            )
        return cls(**lists)

    def format_epoch(self, i: int = -1) -> str:
        """The seed's line: ``Epoch 01 | loss=0.6931 | train_acc=0.850 | test_acc=0.840``."""
        line = (
            f"Epoch {self.epoch[i]:02d} | loss={self.loss[i]:.4f} | "
            f"train_acc={self.train_acc[i]:.3f}"
        )
        if self.test_acc[i] is not None:
            line += f" | test_acc={self.test_acc[i]:.3f}"
        return line


def predict_proba(model, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Softmax probabilities (N, C), computed in eval mode, batch by batch."""
    X = real_array(X, "X", "predict")
    batch_size = whole(batch_size, "batch_size", "predict", low=1)
    num_classes = num_outputs(model, X)  # also: a clear error if X does not fit the model
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
    return np.concatenate(chunks) if chunks else np.empty((0, num_classes), np.float32)


def predict(model, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted class index for each sample, int64 (N,)."""
    return predict_proba(model, X, batch_size).argmax(axis=1).astype(np.int64)


def evaluate(model, X: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Accuracy of ``model`` on (X, y), in eval mode."""
    X, y = checked_split((X, y), "evaluate")
    check_labels(y, num_outputs(model, X), "evaluate")
    return float(np.mean(predict(model, X, batch_size) == y))


def num_outputs(model, X: np.ndarray) -> int:
    """How many classes ``model`` tells apart, for inputs shaped like X's samples (a
    ValueError naming the layer if they do not fit)."""
    if X.ndim == 0:
        raise ValueError("the input must be an array of samples (N, ...), got a scalar")
    return model.output_shape((1, *X.shape[1:]))[-1]


def check_parts(model, loss, optimizer, scheduler, history, callbacks) -> None:
    """fit's other arguments are what they must be (a clear error, not an AttributeError
    in the middle of an epoch), and the optimizer updates this model's parameters."""
    problems = [
        (isinstance(model, Layer), "model must be a Layer, e.g. a Sequential"),
        (
            callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward", None)),
            "loss must have forward() and backward(), e.g. CrossEntropyLoss()",
        ),
        (
            callable(getattr(optimizer, "step", None)) and hasattr(optimizer, "params"),
            "optimizer must be an Optimizer, e.g. SGD(model.parameters(), lr=0.01)",
        ),
        (
            scheduler is None or callable(getattr(scheduler, "step", None)),
            "scheduler must be None or have step(), e.g. StepLR(optimizer, 5)",
        ),
        (history is None or isinstance(history, History), "history must be None or a History"),
        (
            all(any(callable(getattr(c, hook, None)) for hook in HOOKS) for c in callbacks),
            "callbacks must be a list of Callback objects (each with one of the methods "
            f"{', '.join(HOOKS)}), e.g. [PrintEpoch()] or [Monitor(every=50)]",
        ),
    ]
    for ok, message in problems:
        if not ok:
            raise ValueError(f"fit: {message}")
    own = {id(p) for p in model.parameters()}
    if own and not any(id(p) in own for p in optimizer.params):
        raise ValueError(
            "fit: the optimizer updates none of the model's parameters (was it "
            "made for another model? pass model.parameters())"
        )


def test_metrics(model, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Accuracy and mean cross-entropy on (X, y), in eval mode, from one pass."""
    proba = predict_proba(model, X)
    p_true = np.maximum(proba[np.arange(len(y)), y], np.finfo(proba.dtype).tiny)  # no log(0)
    return float(np.mean(proba.argmax(axis=1) == y)), float(-np.mean(np.log(p_true)))


class Callback:
    """What ``fit`` tells the tools around it as it trains (as Keras callbacks, Lightning hooks).

    Override the hooks you need; fit calls them in this order.  The progress bar, the
    ``Monitor``, the live page and the CLI's checkpoints are all callbacks, so the loop below
    is PyTorch's loop and nothing else.
    """

    def on_train_begin(self, model) -> None:
        """Once, before the first epoch."""

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        """Before the epoch's first batch; ``steps`` batches will follow."""

    def on_batch_begin(self, epoch: int, step: int) -> None:
        """Before ``zero_grad`` of batch ``step`` (counted from 1 in each epoch)."""

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        """After the optimizer's step; ``loss`` is the batch's."""

    def on_epoch_end(self, epoch: int, history: History) -> None:
        """After the test pass and ``scheduler.step()``; ``history`` has the epoch's line."""


HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class PrintEpoch(Callback):
    """Print the History's line after each epoch: ``fit``'s only callback unless told otherwise."""

    def on_epoch_end(self, epoch: int, history: History) -> None:
        print(history.format_epoch(), flush=True)


def fit(
    model,
    loss,
    optimizer,
    train: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int = 32,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    rng=None,
    scheduler=None,
    history: History | None = None,
    callbacks: list | None = None,
    **removed,
) -> History:
    """Train ``model`` with mini-batch gradient descent; returns the History.

    Each epoch: shuffle with ``rng``, then for every batch ``zero_grad -> forward -> loss ->
    backward -> step`` (PyTorch's loop).  ``train_acc`` is the running accuracy over the
    epoch's batches; ``test_acc`` is measured in eval mode after the epoch, then
    ``scheduler.step()`` runs.  Passing a ``history`` continues it: epochs are numbered on from
    ``len(history)``.  ``callbacks`` (see ``Callback``) are told of each step; the default,
    ``None``, prints each epoch's line (``[PrintEpoch()]``), and ``[]`` trains silently.
    """
    if removed:
        raise TypeError(removed_keywords(removed))
    epochs = whole(epochs, "epochs", "fit")
    batch_size = whole(batch_size, "batch_size", "fit", low=1)
    callbacks = [PrintEpoch()] if callbacks is None else list(callbacks)
    check_parts(model, loss, optimizer, scheduler, history, callbacks)
    X, y = checked_split(train, "train")  # checked once, not per batch
    check_labels(y, num_outputs(model, X), "train")
    if test is not None:
        test = checked_split(test, "test")
        check_labels(test[1], num_outputs(model, test[0]), "test")
    rng = as_rng(rng)
    history = History() if history is None else history

    def tell(hook: str, *args) -> None:
        for callback in callbacks:
            if callable(getattr(callback, hook, None)):
                getattr(callback, hook)(*args)

    tell("on_train_begin", model)
    for epoch in range(len(history) + 1, len(history) + epochs + 1):
        start = time.perf_counter()
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        tell("on_epoch_begin", epoch, math.ceil(len(X) / batch_size))
        batches = iterate_minibatches(X, y, batch_size, shuffle=True, rng=rng)
        for step, (xb, yb) in enumerate(batches, 1):
            tell("on_batch_begin", epoch, step)
            optimizer.zero_grad()
            logits = model.forward(xb)
            batch_loss = loss.forward(logits, yb)
            if not math.isfinite(batch_loss):
                raise TrainingDiverged(
                    f"loss became {batch_loss} at epoch {epoch}, batch {step}: training diverged."
                    f" Try a smaller learning rate (now {optimizer.lr})."
                )
            with input_grad(model, False):  # nobody uses dL/d(images): the first layer skips it
                model.backward(loss.backward())
            optimizer.step()
            total_loss += batch_loss * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
            seen += len(yb)
            tell("on_batch_end", epoch, step, batch_loss)
        test_acc, test_loss = test_metrics(model, *test) if test is not None else (None, None)
        history.epoch.append(epoch)
        history.loss.append(total_loss / seen)
        history.train_acc.append(correct / seen)
        history.test_acc.append(test_acc)
        history.test_loss.append(test_loss)
        history.seconds.append(time.perf_counter() - start)
        if scheduler is not None:
            scheduler.step()
        tell("on_epoch_end", epoch, history)
    return history


REPLACED = {
    "verbose": "verbose=False is callbacks=[] (the default prints each epoch's line)",
    "progress": "progress=True is callbacks=[PrintEpoch(), ProgressBar()] "
    "(from cnn_numpy.tools.progress import ProgressBar)",
    "monitor": "monitor=m is callbacks=[PrintEpoch(), m]",
    "on_epoch_end": "on_epoch_end=f is a Callback whose on_epoch_end(epoch, history) calls f",
    "on_batch_end": "on_batch_end=f is a Callback whose on_batch_end(epoch, step, loss) calls f",
    "keep_freed_memory": "keep_freed_memory=True is cnn_numpy.keep_freed_memory() before fit "
    "(a setting of the whole process)",
}


def removed_keywords(removed: dict) -> str:
    """fit's old keywords, each with what replaced it (the tools reach fit through callbacks)."""
    lines = [REPLACED.get(k, f"{k!r} is not an argument of fit") for k in removed]
    return "fit() got " + ", ".join(map(repr, removed)) + ": " + "; ".join(lines)
