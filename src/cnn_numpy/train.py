"""The training loop.  It knows nothing about the model beyond forward/backward,
parameters and train/eval mode (as nanoGPT's trainer), and returns a History (as Keras)."""

from __future__ import annotations

import math
import time

import numpy as np

from .checks import removed_keywords, whole
from .data.batches import check_labels, checked_split, count_batches, iterate_minibatches
from .data.standardized import checked_images
from .epoch_progress import EpochProgress
from .history import History
from .layers.base import Layer, as_rng, evaluating, has_batch_statistics
from .layers.speed import input_grad

#: images per forward pass when predicting or evaluating.  Small batches are not slower here:
#: LeNet on 10,000 images took about as long at 64-128 as at 500, and each batch's
#: temporaries (im2col columns, masks) are a quarter as large, so a run's memory peak is
#: its training step's, not its evaluation's (docs/performance.md, "The first run")
EVAL_BATCH = 128


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def diverged(model, where: str, optimizer, updates: int) -> TrainingDiverged:
    """The error for a NaN or infinite loss, naming its likely cause: after updates, too
    large a learning rate; before any (fit checked the images), the weights or a forward."""
    if updates:
        return TrainingDiverged(
            f"loss became {where}: training diverged. Try a smaller learning rate "
            f"(now {optimizer.lr})."
        )
    bad = [name for name, array in model.named_state() if not np.isfinite(array).all()]
    if bad:
        cause = f"the model's {', '.join(bad[:3])} hold NaN or inf values (a damaged file?)"
    else:
        cause = "its output is NaN or inf for these finite images: a forward overflows"
    return TrainingDiverged(
        f"loss became {where}, before any update, so the learning rate is not the cause: {cause}"
    )


def predict_proba(model, X: np.ndarray, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Softmax probabilities (N, C), computed in eval mode, batch by batch."""
    X = checked_images(X, "X", "predict")  # StandardizedImages: read a batch at a time
    batch_size = whole(batch_size, "batch_size", "predict", low=1)
    num_classes = num_outputs(model, X)  # also: a clear error if X does not fit the model
    chunks = []
    with evaluating(model):  # afterwards each layer's mode is what it was
        for start in range(0, len(X), batch_size):
            logits = model.forward(X[start : start + batch_size])
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            chunks.append(p / p.sum(axis=1, keepdims=True))
    return np.concatenate(chunks) if chunks else np.empty((0, num_classes), np.float32)


def predict(model, X: np.ndarray, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Predicted class index for each sample, int64 (N,)."""
    return predict_proba(model, X, batch_size).argmax(axis=1).astype(np.int64)


def evaluate(model, X: np.ndarray, y: np.ndarray, batch_size: int = EVAL_BATCH) -> float:
    """Accuracy of ``model`` on (X, y), in eval mode."""
    X, y = checked_split((X, y), "evaluate")
    check_labels(y, num_outputs(model, X), "evaluate")
    return float(np.mean(predict(model, X, batch_size) == y))


def num_outputs(model, X: np.ndarray) -> int:
    """How many classes ``model`` tells apart, for inputs shaped like X's samples (a
    ValueError naming the layer if they do not fit)."""
    if X.ndim == 0:
        raise ValueError("the input must be an array of samples (N, ...), got a scalar")
    out = model.output_shape((1, *X.shape[1:]))
    if len(out) != 2:  # a class per row: (N, C, 1, 1) would broadcast against the labels
        raise ValueError(
            f"the model's output for one sample has shape {tuple(out)}; a classifier's is "
            "(1, C), one score per class: end the model with Flatten() (and a Linear)"
        )
    return out[-1]


def steps_per_epoch(model, n: int, batch_size: int) -> int:
    """How many batches ``fit`` makes of ``n`` training images: ceil(n / batch_size), one
    fewer for a model with BatchNorm when the last batch would hold a single image."""
    return count_batches(n, batch_size, merge_single=has_batch_statistics(model))


def check_parts(model, loss, optimizer, scheduler, history, callbacks) -> None:
    """fit's other arguments are what they must be (a clear error, not an AttributeError
    in the middle of an epoch), and the optimizer updates this model's parameters."""
    classes = [(n, x) for n, x in [("model", model), ("loss", loss), ("optimizer", optimizer)]
               if isinstance(x, type)]  # fmt: skip
    if classes:  # CrossEntropyLoss for CrossEntropyLoss(): its methods look right, unbound
        name, cls = classes[0]
        raise ValueError(f"fit: {name} is the class {cls.__name__}; pass an instance, e.g. "
                         f"{cls.__name__}(...)")  # fmt: skip
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


def augmented(augment, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``augment(xb, rng)``, checked: a batch of images, one for each of ``xb``'s (else the
    error would surface later, in a layer or the loss, without naming the augmentation)."""
    out = augment(xb, rng)
    shape = np.shape(out)
    if len(shape) != xb.ndim or shape[0] != len(xb):
        raise ValueError(
            f"fit: augment {augment!r:.80} turned a batch of shape {xb.shape} into "
            f"{type(out).__name__} of shape {shape}; a transform must return the batch, one "
            "image for each image it was given: t(batch, rng) -> batch"
        )
    return out


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
    progress: EpochProgress | None = None,
    augment=None,
    **removed,
) -> History:
    """Train ``model`` with mini-batch gradient descent; returns the History.

    Each epoch: shuffle with ``rng``, then for every batch ``zero_grad -> forward -> loss ->
    backward -> step`` (PyTorch's loop).  ``train_acc`` is the running accuracy over the
    epoch's batches; ``test_acc`` is measured in eval mode after the epoch, then
    ``scheduler.step()`` runs.  Passing a ``history`` continues it: epochs are numbered on from
    ``len(history)``.  ``callbacks`` (see ``Callback``) are told of each step; the default,
    ``None``, prints each epoch's line (``[PrintEpoch()]``), and ``[]`` trains silently.
    ``augment`` (see ``cnn_numpy.transforms``), called as ``augment(xb, rng)``, changes each
    training batch at random (drawing from ``rng``, after the shuffle); the test set never.
    A model with BatchNorm (any layer with ``batch_statistics``) is never handed a last batch
    of one image, which it cannot normalise: that image joins the batch before it, so the
    epoch still sees every image, in ``steps_per_epoch(model, len(X), batch_size)`` batches.
    """
    if removed:
        raise TypeError(removed_keywords(removed))
    epochs = whole(epochs, "epochs", "fit")
    batch_size = whole(batch_size, "batch_size", "fit", low=1)
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise ValueError(
            f"fit: callbacks must be a list, e.g. callbacks=[{type(callbacks).__name__}(...)], "
            f"got {callbacks!r:.80}"
        )
    callbacks = [PrintEpoch()] if callbacks is None else list(callbacks)
    check_parts(model, loss, optimizer, scheduler, history, callbacks)
    X, y = checked_split(train, "train")  # checked once, not per batch
    check_labels(y, num_outputs(model, X), "train")
    if test is not None:
        test = checked_split(test, "test")
        check_labels(test[1], num_outputs(model, test[0]), "test")
    if augment is not None and (not callable(augment) or isinstance(augment, type)):
        name = augment.__name__ if isinstance(augment, type) else ""  # the class: a usual slip
        got = f"the class {name}; make one, e.g. {name}(...)" if name else repr(augment)
        raise ValueError(f"fit: augment must be None or a transform t(batch, rng), got {got}")
    rng = as_rng(rng)
    history = History() if history is None else history
    progress = EpochProgress() if progress is None else progress.checked()

    def tell(hook: str, *args) -> None:
        for callback in callbacks:
            if callable(getattr(callback, hook, None)):
                getattr(callback, hook)(*args)

    merge_single = has_batch_statistics(model)  # a last batch of one joins the one before
    steps = count_batches(len(X), batch_size, merge_single)
    tell("on_train_begin", model)
    updates = 0  # optimizer steps so far: before the first, the learning rate is no suspect
    for epoch in range(len(history) + 1, len(history) + epochs + 1):
        start = time.perf_counter()
        model.train()
        if progress.step == 0:  # a new epoch: remember where its shuffle starts
            progress.shuffle_state = rng.bit_generator.state
        else:  # an interrupted epoch: the same shuffle again, its first batches skipped
            rng.bit_generator.state = progress.shuffle_state
        tell("on_epoch_begin", epoch, steps)
        batches = iterate_minibatches(
            X, y, batch_size, shuffle=True, rng=rng, merge_single=merge_single
        )
        for step, (xb, yb) in enumerate(batches, 1):
            xb = xb if augment is None else augmented(augment, xb, rng)  # e.g. crops, flips
            if step <= progress.step:
                continue  # trained before the interruption (its draws above replayed)
            tell("on_batch_begin", epoch, step)
            optimizer.zero_grad()
            logits = model.forward(xb)
            batch_loss = loss.forward(logits, yb)
            if not math.isfinite(batch_loss):
                raise diverged(
                    model, f"{batch_loss} at epoch {epoch}, batch {step}", optimizer, updates
                )
            with input_grad(model, False):  # nobody uses dL/d(images): the first layer skips it
                model.backward(loss.backward())
            optimizer.step()
            updates += 1
            progress.total_loss += batch_loss * len(yb)
            progress.correct += int((logits.argmax(axis=1) == yb).sum())
            progress.seen += len(yb)
            progress.step = step
            tell("on_batch_end", epoch, step, batch_loss)
        test_acc, test_loss = test_metrics(model, *test) if test is not None else (None, None)
        history.epoch.append(epoch)
        history.loss.append(progress.total_loss / progress.seen)
        history.train_acc.append(progress.correct / progress.seen)
        history.test_acc.append(test_acc)
        history.test_loss.append(test_loss)
        history.seconds.append(time.perf_counter() - start)
        progress.next_epoch()
        if scheduler is not None:
            scheduler.step()
        tell("on_epoch_end", epoch, history)
    return history
