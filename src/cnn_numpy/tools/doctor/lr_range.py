"""The ``lr`` check: a learning-rate range test (Smith 2017; fastai's ``lr_find``).

Train a copy while the learning rate grows exponentially from ``LR_START`` to ``LR_END``,
and watch the loss: flat while the rate is too small to matter, falling once it is large
enough, then rising (or exploding) once steps overshoot.  The curve here is the loss on a
fixed probe batch after each step (Smith watched held-out accuracy; fastai the smoothed
training-batch loss), smoothed with an exponential moving average.  The suggestion is
fastai's: the rate at the curve's lowest point, divided by 10.  A rate past that point is too
high, and so is one at which a short run from the start (``trial_run``) blows up: the range
test creeps up on large rates from trained weights, a real run starts at them.  A rate far
below where the curve starts to fall (Smith's lower bound) is too low.
"""

from __future__ import annotations

import math

import numpy as np

from . import thresholds as T
from .findings import Finding
from .short_runs import endless_batches, train_step


def range_test(
    model, optimizer, loss, X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator
) -> dict:
    """The curve: ``lrs`` and the smoothed probe ``losses`` at them, ``start_loss``, the rate
    of the lowest point ``lr_min``, ``suggested``, and ``diverged_lr`` (where the loss passed
    ``LR_DIVERGE`` times its minimum or stopped being finite; None if it never did).  Runs
    ``LR_STEPS`` steps, or one pass over ``X`` if that is more (small batches), measuring the
    probe about ``LR_STEPS`` times.  Changes ``model`` and ``optimizer``: pass copies."""
    steps = max(T.LR_STEPS, math.ceil(len(X) / batch_size))
    every = max(1, steps // T.LR_STEPS)
    schedule = T.LR_START * (T.LR_END / T.LR_START) ** (np.arange(steps) / (steps - 1))
    probe = rng.choice(len(X), min(T.LR_PROBE, len(X)), replace=False)
    model.train()

    def probe_loss() -> float:
        return loss.forward(model.forward(X[probe]), y[probe])

    start = smoothed = probe_loss()
    lrs, losses, diverged = [], [], None
    for step, (lr, idx) in enumerate(zip(schedule, endless_batches(len(X), batch_size, rng)), 1):
        optimizer.lr = float(lr)
        value = train_step(model, optimizer, loss, X[idx], y[idx])
        if math.isfinite(value) and step % every and step != steps:
            continue  # the probe is measured every `every` steps
        if math.isfinite(value):
            value = probe_loss()
        if not math.isfinite(value):
            diverged = float(lr)
            break
        smoothed = T.LR_SMOOTHING * smoothed + (1 - T.LR_SMOOTHING) * value
        lrs.append(float(lr))
        losses.append(float(smoothed))
        if smoothed > T.LR_DIVERGE * min(losses):
            diverged = float(lr)
            break
    if not losses:  # diverged at the very first step
        lrs, losses = [T.LR_START], [float(start)]
    lowest = int(np.argmin(losses))
    lr_min, min_loss = lrs[lowest], losses[lowest]
    falling = np.asarray(losses) <= start - T.LR_FALL_START * (start - min_loss)
    return {
        "lrs": lrs,
        "losses": losses,
        "start_loss": float(start),
        "lr_min": lr_min,
        "min_loss": min_loss,
        "lr_falls": lrs[int(np.argmax(falling))],
        "suggested": lr_min / T.LR_SUGGEST_DIVISOR,
        "diverged_lr": diverged,
        "steps": steps,
        "batch_size": batch_size,
    }


def check_lr(curve: dict, user_lr: float, trial: dict | None = None) -> Finding:
    """The user's learning rate against the range test's curve (and, when given, the short
    run at that rate from ``trial_run``); see thresholds.py for the margins."""
    data = {**curve, "user_lr": user_lr}
    start, lowest = curve["start_loss"], curve["min_loss"]
    ran = (
        f"A range test (Smith 2017; fastai's lr_find), {len(curve['lrs'])} points from "
        f"lr {T.LR_START:g} to {curve['lrs'][-1]:.2g}"
    )
    if start - lowest < T.LR_MIN_DROP * start:
        return Finding(
            "lr",
            "warn",
            (
                f"{ran}: the loss never fell by {T.LR_MIN_DROP:.0%} from {start:.3g}, at any "
                "rate. No learning rate helps, so something else blocks learning: see gradients, "
                "dead_relu, saturation, input_scale and labels."
            ),
            data,
        )
    lr_min, suggested, blew, falls = (
        curve["lr_min"],
        curve["suggested"],
        curve["diverged_lr"],
        curve["lr_falls"],
    )
    end = (
        f"blew up from {blew:.2g}"
        if blew is not None
        else "was still falling at the end"
        if lr_min == curve["lrs"][-1]
        else "rose after it"
    )
    measured = (
        f"{ran}: the loss started to fall at lr {falls:.2g}, was lowest ({lowest:.3g}, "
        f"from {start:.3g}) at {lr_min:.2g} and {end}. Suggested: {suggested:.2g} (the "
        f"lowest point / {T.LR_SUGGEST_DIVISOR:g}). Yours is {user_lr:g}"
    )
    evidence = trial_evidence(trial)
    if evidence or (blew is not None and user_lr >= blew) or user_lr >= T.LR_HIGH_FAIL * lr_min:
        return Finding(
            "lr",
            "fail",
            (
                f"{measured}, far too high: past the point where the loss rises{evidence}. "
                f"Training at it diverges, or kills the ReLUs and stalls. Try: lr={suggested:.2g}."
            ),
            data,
        )
    if user_lr > lr_min:
        return Finding(
            "lr",
            "warn",
            (
                f"{measured}, above the curve's lowest point: there the loss is already rising "
                f"again, so training will be unstable. Try: lr={suggested:.2g}."
            ),
            data,
        )
    below = falls / user_lr
    if below >= T.LR_LOW_WARN:
        status = "fail" if below >= T.LR_LOW_FAIL else "warn"
        return Finding(
            "lr",
            status,
            (
                f"{measured}, {below:.0f}x below where the loss starts to fall (Smith's lower "
                "bound): so small that the loss hardly moves, and training takes far longer than "
                f"it needs to, or gets nowhere. Try: lr={suggested:.2g}."
            ),
            data,
        )
    return Finding("lr", "ok", f"{measured}: within range.", data)


def trial_evidence(trial: dict | None) -> str:
    """What the short run at the user's rate (``trial_run``) showed of a rate far too high:
    the loss became NaN, or one step changed a weight by more than its own size; else ''."""
    if trial is None:
        return ""
    if trial["diverged_at"] is not None:
        return f"; at it, the loss became NaN after {trial['diverged_at']} steps"
    peaks = {name: max(r) for name, r in trial["ratios"].items() if r}
    if peaks and max(peaks.values()) > T.UPDATE_HIGH_FAIL:
        name = max(peaks, key=peaks.get)
        return f"; at it, one step changed {name} by {peaks[name]:.3g}x its own size"
    return ""
