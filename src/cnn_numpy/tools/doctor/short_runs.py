"""The checks that train a copy for a while: ``overfit`` (can it memorise 20 images?) and
``update_ratio`` (how far does each step move the weights?)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ...data.batches import batch_slices, iterate_minibatches
from ...layers.base import has_batch_statistics
from ...layers.speed import input_grad
from ...train import predict
from . import thresholds as T
from .findings import Finding
from .signal_run import held_out_loss, held_out_split, prior_loss


def train_step(model, optimizer, loss, xb: np.ndarray, yb: np.ndarray) -> float:
    """One step of ``fit``'s loop: zero_grad, forward, loss, backward, step; returns the loss
    (the step is skipped when the loss is not finite)."""
    optimizer.zero_grad()
    value = loss.forward(model.forward(xb), yb)
    if math.isfinite(value):
        with input_grad(model, False):  # nobody needs dL/d(images)
            model.backward(loss.backward())
        optimizer.step()
    return value


def endless_batches(
    n: int, batch_size: int, rng: np.random.Generator, merge_single: bool = False
) -> Iterator[np.ndarray]:
    """Index arrays of ``batch_size`` (the last of a pass may be smaller), reshuffled each
    pass over ``n`` samples, forever.  ``merge_single``: as ``iterate_minibatches``'s, a last
    batch of one joins the one before it (a model with BatchNorm cannot train on it)."""
    parts = batch_slices(n, batch_size, merge_single)
    while True:
        order = rng.permutation(n)
        for part in parts:
            yield order[part]


def check_overfit(
    model, optimizer, loss, X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Finding:
    """Train on ``OVERFIT_SAMPLES`` images for up to ``OVERFIT_EPOCHS`` epochs (at most
    ``OVERFIT_MAX_STEPS`` steps), stopping at 100% training accuracy (measured in eval mode,
    without Dropout).  Changes ``model`` and ``optimizer``: pass copies."""
    pick = rng.choice(len(X), min(T.OVERFIT_SAMPLES, len(X)), replace=False)
    Xs, ys = X[pick], y[pick]
    batch = min(batch_size, len(pick))
    epochs = min(T.OVERFIT_EPOCHS, max(1, T.OVERFIT_MAX_STEPS // math.ceil(len(pick) / batch)))
    losses, accuracies = [], []
    for epoch in range(1, epochs + 1):
        model.train()
        values = [
            train_step(model, optimizer, loss, xb, yb)
            for xb, yb in iterate_minibatches(
                Xs, ys, batch, rng=rng, merge_single=has_batch_statistics(model)
            )
        ]
        if not all(math.isfinite(v) for v in values):
            data = {"losses": losses, "accuracies": accuracies, "samples": len(pick)}
            return Finding(
                "overfit",
                "fail",
                (
                    f"Training on {len(pick)} images, the loss became {values[-1]} at epoch "
                    f"{epoch}: it diverged. Try: a learning rate 10x smaller (now "
                    f"{optimizer.lr:g}); see the lr finding."
                ),
                data,
            )
        losses.append(float(np.mean(values)))
        accuracies.append(float(np.mean(predict(model, Xs) == ys)))
        if accuracies[-1] == 1.0:
            break
    data = {
        "losses": losses,
        "accuracies": accuracies,
        "samples": len(pick),
        "epochs": epochs,
        "batch_size": batch,
    }
    done = (
        f"After {len(losses)} epoch{'s' if len(losses) > 1 else ''} on the same "
        f"{len(pick)} images (batches of {batch}), training accuracy is "
        f"{accuracies[-1]:.0%} (loss {losses[-1]:.3g})"
    )
    if accuracies[-1] == 1.0:
        return Finding("overfit", "ok", f"{done}: the model, loss and optimizer can learn.", data)
    status = "warn" if accuracies[-1] >= T.OVERFIT_WARN else "fail"
    decay = getattr(optimizer, "weight_decay", 0)
    regularised = (
        f"weight decay 0 for this test (yours, {decay:g}, pulls every weight towards 0)"
        if decay
        else "no Dropout for this test"
    )
    return Finding(
        "overfit",
        status,
        (
            f"{done}, not 100% ({epochs} epochs allowed). A network that cannot memorise "
            f"{len(pick)} images will not learn the whole data set (CS231n, Karpathy: 'overfit "
            "one batch' first). Try: fix the other findings first (gradients, dead_relu, "
            f"saturation, lr); the learning rate the lr finding suggests (now {optimizer.lr:g}); "
            f"{regularised}; a bigger model."
        ),
        data,
    )


def trial_run(
    model, optimizer, loss, X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator
) -> dict:
    """Train at the optimizer's own learning rate for ``TRIAL_STEPS`` steps, or one pass over
    ``X`` if that is more; record each step's loss and, for every weight (parameters with 2
    or more axes), |update| / |weight|.  A few images are held out of the run, and the loss
    on them before and after is kept as ``held_out`` (see ``signal_run``).  Changes
    ``model`` and ``optimizer``: pass copies."""
    updated = {id(p) for p in optimizer.params}
    weights = [
        (name, p) for name, p in model.named_parameters() if p.data.ndim >= 2 and id(p) in updated
    ]
    train, held = held_out_split(len(X), rng)  # held-out images: do the labels follow them?
    X, y, X_held, y_held = X[train], y[train], X[held], y[held]
    steps = max(T.TRIAL_STEPS, math.ceil(len(X) / batch_size))
    ratios: dict[str, list[float]] = {name: [] for name, _ in weights}
    losses: list[float] = []
    diverged = None
    model.train()
    start = held_out_loss(model, loss, X_held, y_held) if len(held) else None
    for step, idx in zip(
        range(1, steps + 1), endless_batches(len(X), batch_size, rng, has_batch_statistics(model))
    ):
        before = [p.data.copy() for _, p in weights]
        losses.append(train_step(model, optimizer, loss, X[idx], y[idx]))
        if not math.isfinite(losses[-1]) or not all(
            np.all(np.isfinite(p.data)) for _, p in weights
        ):
            diverged = step
            break
        for (name, p), old in zip(weights, before):
            scale = float(np.linalg.norm(old))
            ratios[name].append(float(np.linalg.norm(p.data - old)) / scale if scale else 0.0)
    signal = None
    if start is not None and diverged is None:
        signal = {
            "before": start,
            "after": held_out_loss(model, loss, X_held, y_held),
            "prior": prior_loss(y),
            "held_out": len(held),
            "steps": len(losses),
            "lr": float(optimizer.lr),
        }
    return {
        "lr": float(optimizer.lr),
        "optimizer": type(optimizer).__name__,
        "held_out": signal,
        "batch_size": batch_size,
        "steps": steps,
        "losses": [float(v) for v in losses],
        "ratios": ratios,
        "diverged_at": diverged,
    }


def check_update_ratio(trial: dict) -> Finding:
    """The median |update| / |weight| of each weight over the trial run against the ~1e-3
    rule; see thresholds.py for the margins."""
    data = {**trial, "rule": T.UPDATE_RULE}
    lr = f"lr {trial['lr']:g}"
    if trial["diverged_at"] is not None:
        return Finding(
            "update_ratio",
            "fail",
            (
                f"Training at your {lr}, the loss or the weights became NaN or infinite at step "
                f"{trial['diverged_at']}: every update is far too large. Try: a learning rate at "
                "least 10x smaller; see the lr finding."
            ),
            data,
        )
    typical = {name: float(np.median(r)) for name, r in trial["ratios"].items() if r}
    if not typical:
        return Finding(
            "update_ratio",
            "ok",
            "The optimizer updates no weight matrix or "
            "kernel (only biases or none): nothing to measure.",
            data,
        )
    peak = {name: max(r) for name, r in trial["ratios"].items() if r}
    busiest = max(typical, key=typical.get)
    slowest = min(typical, key=typical.get)
    spread = (
        "is 0 for every weight (nothing moves after the first steps)"
        if typical[busiest] == 0
        else f"runs from {typical[slowest]:.1e} ({slowest}) to {typical[busiest]:.1e} ({busiest})"
    )
    measured = (
        f"Over {len(trial['losses'])} steps at your {lr}, the median |update| / "
        f"|weight| per step {spread}; the rule of thumb is about {T.UPDATE_RULE:g} "
        "(CS231n, Karpathy)"
    )
    jumper = max(peak, key=peak.get)
    if peak[jumper] > T.UPDATE_HIGH_FAIL or typical[busiest] > T.UPDATE_HIGH_WARN:
        status = "fail" if peak[jumper] > T.UPDATE_HIGH_FAIL else "warn"
        worst = (
            f"one step changed {jumper} by {peak[jumper]:.3g}x its own size"
            if status == "fail"
            else f"{busiest} is rewritten within ten steps"
        )
        return Finding(
            "update_ratio",
            status,
            (
                f"{measured}: {worst}. Steps this large throw away what was learned and can kill "
                "ReLUs or blow up the loss. Try: a smaller learning rate (see the lr finding)"
                + (
                    "; for Adam, rates around 1e-3."
                    if "Adam" in trial.get("optimizer", "")
                    else "."
                )
            ),
            data,
        )
    if typical[busiest] < T.UPDATE_LOW_WARN:
        status = "fail" if typical[busiest] < T.UPDATE_LOW_FAIL else "warn"
        if typical[busiest] == 0:
            return Finding(
                "update_ratio",
                "fail",
                (
                    f"Over {len(trial['losses'])} steps at your {lr}, no weight moved at all: no "
                    "gradient reaches them (see dead_relu, saturation and gradients). Try: fix "
                    "those findings; check that the optimizer was given the model's parameters."
                ),
                data,
            )
        return Finding(
            "update_ratio",
            status,
            (
                f"{measured}: even the busiest weight moves {T.UPDATE_RULE / typical[busiest]:.0f}x "
                "less than that, so training would take that much longer to get anywhere. Try: "
                "a larger learning rate (see the lr finding)."
            ),
            data,
        )
    stuck = [name for name, value in typical.items() if value < T.UPDATE_LOW_FAIL]
    if stuck:
        return Finding(
            "update_ratio",
            "warn",
            (
                f"{measured}, but {', '.join(stuck)} barely move{'s' if len(stuck) == 1 else ''}: "
                "little or no gradient reaches them (see dead_relu and saturation). Try: fix "
                "those findings; check that the optimizer was given every parameter."
            ),
            data,
        )
    return Finding("update_ratio", "ok", f"{measured}: steps of a healthy size.", data)
