"""Attributions made of input gradients: integrated gradients (and saliency, which lives
in ``tools/input_gradients/`` so that the report can draw it without importing explain).

Both are "one more backward pass, to the input" (``backprop.gradient_to_input``), starting
from the one-hot gradient of the target's logit.
"""

from __future__ import annotations

import numpy as np

from ..input_gradients.backprop import (
    check_steps,
    explaining,
    gradient_to_input,
    in_precision_of,
    input_array,
    one_hot,
    targets,
)
from ..input_gradients.saliency import saliency  # noqa: F401 (its old address, kept)


def integrated_gradients(model, x, target=None, baseline=None, steps: int = 32) -> np.ndarray:
    """(x − b) · (1/steps) Σ_{k=1..steps} ∂ logit[target] / ∂ x at b + (k/steps)(x − b)
    (Sundararajan et al. 2017, right Riemann sum), shape (N, C, H, W).

    ``baseline`` b: zeros when None, else an array that broadcasts to x's shape.  The sum of
    a sample's attributions approaches logit(x) − logit(b) as ``steps`` grows
    (completeness: ``completeness_error`` measures it).  ``target`` None is the class
    predicted for x.
    """
    x = input_array(x, "integrated_gradients")
    model = in_precision_of(model, x)
    steps = check_steps(steps, "integrated_gradients")
    b = baseline_array(baseline, x)
    total = 0.0
    with explaining(model):
        t = targets(target, model.forward(x), "integrated_gradients")
        for k in range(1, steps + 1):
            point = b + (k / steps) * (x - b)  # on the straight line from b to x
            _, dx = gradient_to_input(model, point, lambda logits: one_hot(t, logits))
            total = total + dx  # in the gradients' dtype (the model's)
    return (x - b) * total / steps


def baseline_array(baseline, x: np.ndarray) -> np.ndarray:
    """The baseline as an array of x's shape and dtype (zeros for None)."""
    if baseline is None:
        return np.zeros_like(x)
    b = np.asarray(baseline)
    try:
        if b.dtype.kind not in "biuf":
            raise ValueError
        return np.broadcast_to(b, x.shape).astype(x.dtype)
    except ValueError:
        raise ValueError(
            f"integrated_gradients: baseline must be real numbers that broadcast to x's shape "
            f"{x.shape}, got shape {b.shape} and dtype {b.dtype}"
        ) from None


def completeness_error(model, x, attributions, target=None, baseline=None) -> np.ndarray:
    """|Σ attributions − (logit(x) − logit(b))| / |logit(x) − logit(b)| per sample (N,):
    how far integrated gradients are from their completeness axiom."""
    x = input_array(x, "completeness_error")
    model = in_precision_of(model, x)
    b = baseline_array(baseline, x)
    with explaining(model):
        logits_x, logits_b = model.forward(x), model.forward(b)
        t = targets(target, logits_x, "completeness_error")
    rows = np.arange(len(t))
    difference = logits_x[rows, t] - logits_b[rows, t]
    attributions = np.asarray(attributions)
    if attributions.ndim == 0 or len(attributions) != len(t):  # x[:1]'s would fold into two
        raise ValueError(
            f"completeness_error: attributions must be one per sample of x ({len(t)}), as "
            f"integrated_gradients(model, x) returns them, got shape {attributions.shape}"
        )
    total = attributions.reshape(len(t), -1).sum(axis=1)
    return np.abs(total - difference) / np.maximum(np.abs(difference), np.finfo(float).tiny)
