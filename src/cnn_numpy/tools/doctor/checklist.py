"""``diagnose``: run the teachers' checklist on a model, its loss, data and optimizer."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import numpy as np

from ...data.batches import check_dataset
from ...data.standardized import StandardizedImages
from ...layers.base import as_rng, has_batch_statistics
from ..speed.workers import blas_threads
from . import thresholds as T
from .activations import activation_stats, layer_outputs
from .copies import unwrapped, working_copies
from .cures import cross_reference, explain_overfit, find_cure, heavy_dropout, suspects
from .data_checks import check_input_scale, check_labels
from .findings import CHECKS, Diagnosis, Finding
from .forward_checks import check_dead_relu, check_init_loss, check_saturation
from .gradients import check_gradients
from .lr_range import check_lr, range_test
from .short_runs import check_overfit, check_update_ratio, trial_run


def diagnose(
    model,
    loss,
    data: tuple[np.ndarray, np.ndarray],
    optimizer,
    *,
    batch_size: int = 32,
    checks: Sequence[str] | None = None,
    rng=0,
) -> Diagnosis:
    """Find what is wrong before training: returns a ``Diagnosis`` of one finding per check.

    The checks (``cnn_numpy.tools.doctor.CHECKS``; the docs page "When training goes wrong"
    explains each): ``labels``, ``input_scale``, ``init_loss``, ``gradients``, ``dead_relu``,
    ``saturation``, ``overfit``, ``update_ratio``, ``lr``.  Every check works on deep copies:
    ``model`` (weights, buffers, gradients, mode, random generators) and ``optimizer``
    (state, learning rate) are exactly as they were afterwards.

    Args:
        model: a ``Sequential`` (or any Layer; a ``DataParallel``'s module is used).
        loss: e.g. ``CrossEntropyLoss()``.
        data: ``(X, y)``, the training images (N, C, H, W) and integer labels (N,).  The
            checks that train use a random subset of at most 1,024 of them.
        optimizer: built on ``model.parameters()``; its learning rate is the one judged.
        batch_size: the batch size you train with (the short training runs use it).
        checks: names of the checks to run, e.g. ``["lr", "gradients"]`` or
            ``"lr,gradients"`` (default: all).
        rng: seed or Generator for the subsets, shuffles and random test inputs.

    Shape: X (N, C, H, W) or (N, F), y (N,).

    Example:
        >>> from cnn_numpy import SGD, CrossEntropyLoss, seed_net, synthetic_lines
        >>> X, y = synthetic_lines(50, rng=0)
        >>> model = seed_net(2, rng=1)
        >>> found = diagnose(model, CrossEntropyLoss(), (X, y), SGD(model.parameters(), 0.01),
        ...                  checks=["labels", "init_loss"])
        >>> [(f.check, f.status) for f in found]
        [('labels', 'ok'), ('init_loss', 'ok')]
    """
    # a rate far too high overflows on purpose in the short runs: the findings say so, so
    # NumPy's overflow warnings are silenced inside (errstate is restored on return).  The
    # checks are many small products, which one BLAS thread runs fastest and steadiest
    # (waking a second thread costs more than it saves, most of all on a busy machine); the
    # thread count is restored on return too.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), blas_threads(1):
        return _diagnose(model, loss, data, optimizer, batch_size, checks, rng)


def _diagnose(model, loss, data, optimizer, batch_size, checks, rng) -> Diagnosis:
    started = time.perf_counter()
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(
            "diagnose: data must be the pair (X, y), images and labels, got "
            f"{type(data).__name__}" + (f" of shape {data.shape}" if hasattr(data, "shape") else "")
        )
    X, y = data
    held_as_bytes = isinstance(X, StandardizedImages)  # read by index: no float copy of all
    X, y = X if held_as_bytes else np.asarray(X), np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"diagnose: labels y must be one class index per image, shape (N,); got {y.shape}"
        )
    check_dataset(X, y, "diagnose: the data (X, y)")
    if isinstance(loss, type):
        raise ValueError(f"diagnose: loss must be a loss object, {loss.__name__}(), not the class")
    if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise ValueError(
            "diagnose: loss must have forward(logits, y) and backward(), e.g. "
            f"CrossEntropyLoss(); got {type(loss).__name__} (are loss and optimizer swapped?)"
        )
    if isinstance(checks, str):  # one name, or names joined by commas as --checks takes them
        checks = [name.strip() for name in checks.split(",")]
    selected = CHECKS if checks is None else tuple(checks)
    if not selected:
        raise ValueError(
            f"diagnose: checks names none; choose from {list(CHECKS)}, or None for all"
        )
    unknown = [name for name in selected if name not in CHECKS]
    if unknown:
        raise ValueError(f"diagnose: unknown check(s) {unknown}; the checks are {list(CHECKS)}")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"diagnose: batch_size must be an int >= 1, got {batch_size!r}")
    if not hasattr(optimizer, "lr") or not hasattr(optimizer, "params"):
        raise ValueError(
            f"diagnose: {optimizer!r} is not an optimizer with .params and .lr "
            "(e.g. SGD(model.parameters(), lr=0.01))"
        )
    model = unwrapped(model)
    refuse_batches_of_one(model, X, batch_size)
    rng = as_rng(rng)
    seed_of = dict(zip(CHECKS, (int(s) for s in rng.integers(2**63, size=len(CHECKS)))))
    seeds = {name: np.random.default_rng(seed) for name, seed in seed_of.items()}
    pick = np.sort(rng.choice(len(X), min(T.SAMPLES, len(X)), replace=False))
    Xs, ys = X[pick], y[pick]

    # one forward pass on a copy: the shapes, the number of classes, the activations
    probe_model, _, probe_loss = working_copies(model, optimizer, loss)
    probe_model.train()
    outputs = forward_or_explain(probe_model, Xs[: T.PROBE])
    logits = outputs[-1][2]
    num_classes = logits.shape[1]
    check_labels_are_indices(y, num_classes)
    stats = [activation_stats(label, layer, out) for label, layer, out in outputs]
    top = [out for label, _, out in outputs if "." not in label.split(":")[0]]  # not 3.block.0
    input_shapes = [tuple(X.shape[1:])] + [tuple(out.shape[1:]) for out in top[:-1]]

    def copies():
        return working_copies(model, optimizer, loss)

    found: dict[str, Finding] = {}
    if "labels" in selected:
        found["labels"] = check_labels(y, num_classes)
    if "input_scale" in selected:  # NaN counted in all the images (bytes hold none)
        found["input_scale"] = check_input_scale(Xs, None if held_as_bytes else X)
    if "init_loss" in selected:
        found["init_loss"] = check_init_loss(
            probe_loss.forward(logits, ys[: T.PROBE]), logits, outputs[-1][1]
        )
    if "gradients" in selected:
        found["gradients"] = check_gradients(
            model, copy.deepcopy(loss), input_shapes, num_classes, seeds["gradients"]
        )
    if "dead_relu" in selected:
        found["dead_relu"] = check_dead_relu(stats, model)
    if "saturation" in selected:
        found["saturation"] = check_saturation(stats)
    curve = None

    def lr_curve() -> dict:  # the range test, run once for the lr check and overfit's cure
        nonlocal curve
        if curve is None:
            curve = range_test(*copies(), Xs, ys, batch_size, seeds["lr"])
        return curve

    if "overfit" in selected:
        overfit = check_overfit(*copies(), Xs, ys, batch_size, seeds["overfit"])
        cure, tried = None, 0
        if not overfit.ok:  # try the usual suspects one at a time, on the same 20 images
            suggested = lr_curve()["suggested"]
            tried = len(suspects(optimizer, model, suggested))
            cure = find_cure(copies, Xs, ys, batch_size, seed_of["overfit"], suggested)
        found["overfit"] = heavy_dropout(explain_overfit(overfit, cure, tried), model)
    trial = None
    if "update_ratio" in selected or "lr" in selected:
        trial = trial_run(*copies(), Xs, ys, batch_size, seeds["update_ratio"])
    if "update_ratio" in selected:
        found["update_ratio"] = check_update_ratio(trial)
    if "lr" in selected:
        found["lr"] = check_lr(lr_curve(), float(optimizer.lr), trial)

    def held_out() -> dict | None:  # the loss on images the run at your rate did not see
        return trial["held_out"] if trial is not None else None

    cross_reference(found, held_out)
    findings = [found[name] for name in CHECKS if name in found]
    return Diagnosis(findings, activations=stats, seconds=time.perf_counter() - started)


def refuse_batches_of_one(model, X: np.ndarray, batch_size: int) -> None:
    """A ValueError naming the cause when the checks would train on a batch of one image (one
    training image, or ``batch_size`` 1) and the model cannot (BatchNorm1d after a Linear)."""
    if min(len(X), batch_size) > 1 or not has_batch_statistics(model):
        return
    try:
        model.output_shape((1, *X.shape[1:]))
    except ValueError:
        return  # the images do not fit the model: forward_or_explain says so
    try:
        copy.deepcopy(model).train().forward(X[:1])  # a copy: its running statistics stay
    except ValueError as err:
        cause, fix = (
            ("there is 1 training image", "give it 2 images or more")
            if len(X) == 1
            else ("batch_size is 1", "use a batch size of 2 or more")
        )
        raise ValueError(
            f"diagnose: the model cannot train on a batch of one image, and {cause}: {err}. "
            f"To diagnose it, {fix}"
        ) from err


def forward_or_explain(model, X: np.ndarray) -> list:
    """``layer_outputs`` of the probe batch; a model that cannot take X, or whose output is
    not (N, classes) logits, is a ValueError that says so."""
    try:
        outputs = layer_outputs(model, X)
    except (ValueError, IndexError) as err:
        raise ValueError(
            f"diagnose: the model cannot run on images of shape {X.shape[1:]}: {err}. It was "
            "built for images of another size or channel count: build it for these (the "
            "presets take image_size and in_channels), or resize the images to the size it "
            "was built for"
        ) from err
    logits = outputs[-1][2]
    if logits.ndim != 2:
        raise ValueError(
            f"diagnose: the model's output has shape {logits.shape}; a classifier "
            "gives logits of shape (N, classes)"
        )
    return outputs


def check_labels_are_indices(y: np.ndarray, num_classes: int) -> None:
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"diagnose: labels must be integer class indices, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= num_classes:
        hint = (
            f"; labels counted from 1 (1 to {num_classes})? Subtract 1: y = y - 1"
            if y.min() == 1 and y.max() == num_classes
            else ""
        )
        raise ValueError(
            f"diagnose: labels must be class indices in [0, {num_classes}) for a "
            f"model with {num_classes} outputs, got values from {y.min()} to "
            f"{y.max()}{hint}"
        )
