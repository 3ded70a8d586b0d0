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

from ...layers.base import has_batch_statistics
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
    for step, (lr, idx) in enumerate(
        zip(schedule, endless_batches(len(X), batch_size, rng, has_batch_statistics(model))), 1
    ):
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
        "probe": len(probe),
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
        data["flat"] = True
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
    # the loss still falling at the largest rate tested: the range found no upper limit, so
    # no rate can be "past the point where the loss rises"; only the short run can judge it
    no_limit = blew is None and lr_min == curve["lrs"][-1]
    end = (
        f"blew up from {blew:.2g}"
        if blew is not None
        else f"was still falling at the largest rate tested: the range found no upper limit "
        f"up to {lr_min:.2g}"
        if no_limit
        else "rose after it"
    )
    measured = (
        f"{ran}: the loss started to fall at lr {falls:.2g}, was lowest ({lowest:.3g}, "
        f"from {start:.3g}) at {lr_min:.2g} and {end}. Suggested: {suggested:.2g} (the "
        f"lowest point / {T.LR_SUGGEST_DIVISOR:g}). Yours is {user_lr:g}"
    )
    evidence, moves = trial_evidence(trial), trial_direction(trial)
    lower = min(suggested, user_lr / 10)  # a rate judged too high is never told to go up
    # the curve's verdicts, unless the short run at the rate itself shows the opposite
    past_blowup = blew is not None and user_lr >= blew and moves != "low"
    past_rise = not no_limit and user_lr >= T.LR_HIGH_FAIL * lr_min and moves != "low"
    if evidence or past_blowup or past_rise:
        why = (
            f"past the rate where the loss blew up{evidence}"
            if past_blowup
            else f"past the point where the loss rises{evidence}"
            if past_rise
            else f"the range test, which reaches large rates from weights it has already "
            f"trained, saw no upper limit, but a run that starts at it does{evidence}"
            if no_limit
            else f"the curve allows it, but a run that starts at it does not{evidence}"
        )
        return Finding(
            "lr",
            "fail",
            (
                f"{measured}, far too high: {why}. Training at it diverges, or kills the ReLUs "
                f"and stalls. Try: lr={lower:.2g}."
            ),
            data,
        )
    below = falls / user_lr
    curve_says = (
        "high" if user_lr > lr_min and not no_limit else "low" if below >= T.LR_LOW_WARN else None
    )
    if curve_says == "high" and moves != "low":  # a run at it moving too little: not too high
        return Finding(
            "lr",
            "warn",
            (
                f"{measured}, above the curve's lowest point: there the loss is already rising "
                f"again, so training will be unstable. Try: lr={suggested:.2g}."
            ),
            data,
        )
    if curve_says == "low" and moves != "high":  # nor is one whose steps are too large
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
    if curve_says is not None:  # the curve and the run at the rate disagree: the run decides
        curve_view = "past the curve's lowest point" if curve_says == "high" else "far below it"
        advice = "a larger rate, watching the loss" if moves == "low" else f"lr={lower:.2g}"
        return Finding(
            "lr",
            "warn",
            (
                f"{measured}: {curve_view} by the curve, but a run that starts at it moves the "
                f"weights too {'little' if moves == 'low' else 'much'} (see update_ratio), and "
                f"that run measures the rate itself, so it decides: too {moves}. Try: {advice}."
            ),
            data,
        )
    beyond = " (beyond the largest rate tested: judged by the short run at it)"
    if user_lr <= lr_min:
        beyond = ""
    return Finding("lr", "ok", f"{measured}: within range{beyond}.", data)


def trial_direction(trial: dict | None) -> str | None:
    """Which way the short run at the user's rate (update_ratio's measurement) points:
    "high" (steps too large), "low" (weights moving, but far too little) or None."""
    if trial is None:
        return None
    if trial["diverged_at"] is not None:
        return "high"
    typical = [float(np.median(r)) for r in trial["ratios"].values() if r]
    peaks = [max(r) for r in trial["ratios"].values() if r]
    if not typical:
        return None
    if max(peaks) > T.UPDATE_HIGH_FAIL or max(typical) > T.UPDATE_HIGH_WARN:
        return "high"
    if 0 < max(typical) < T.UPDATE_LOW_WARN:  # 0: no gradient at all, not the rate's fault
        return "low"
    return None


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
