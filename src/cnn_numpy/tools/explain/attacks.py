"""Images that fool the model: FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018).

Both follow the sign of the loss's gradient with respect to the input, computed by the
model's own backward pass (``backprop.gradient_to_input``).  ``eps`` and ``clip`` are in the
units of ``x`` as the model takes it: for a model trained on standardised pixels,
``eps_pixels / std`` and ``((0 - mean) / std, (1 - mean) / std)`` (``pixel_units`` converts).
"""

from __future__ import annotations

import numpy as np

from ...layers.base import as_rng
from ..input_gradients.backprop import (
    check_clip,
    check_inside,
    check_number,
    check_steps,
    cross_entropy_grad,
    explaining,
    gradient_to_input,
    in_precision_of,
    input_array,
    targets,
)


def fgsm(model, x, labels, eps: float, clip=(0.0, 1.0), target=None) -> np.ndarray:
    """clip(x + eps · sign(∂ CE(model(x), labels) / ∂ x)): one step up the loss.

    With ``target`` (an int or ints (N,)): clip(x − eps · sign(∂ CE(model(x), target) / ∂ x)),
    one step *down* the loss of ``target``, towards making the model say it.  ``clip=None``
    turns clipping off.  The model is attacked in eval mode and left as it was.
    """
    x = input_array(x, "fgsm")
    model = in_precision_of(model, x)
    eps = check_number(eps, "eps", "fgsm")
    clip = check_clip(clip, "fgsm")
    check_inside(x, clip, "fgsm")
    with explaining(model):
        return fgsm_step(model, x, labels, eps, clip, target, "fgsm")


def pgd(
    model,
    x,
    labels,
    eps: float,
    step_size: float,
    steps: int,
    clip=(0.0, 1.0),
    target=None,
    rng=None,
) -> np.ndarray:
    """``steps`` FGSM steps of ``step_size``, each projected back into the L∞ ball of radius
    ``eps`` around x and into ``clip`` (Madry et al. 2018).

    A uniform random start in the ball (then clipped) only when ``rng`` is given (a seed or
    a Generator).  With ``target``, each step goes down the loss of ``target``.
    """
    x = input_array(x, "pgd")
    model = in_precision_of(model, x)
    eps = check_number(eps, "eps", "pgd")
    step_size = check_number(step_size, "step_size", "pgd")
    steps = check_steps(steps, "pgd")
    clip = check_clip(clip, "pgd")
    check_inside(x, clip, "pgd")
    with explaining(model):
        return pgd_steps(model, x, labels, eps, step_size, steps, clip, target, rng)


def fgsm_step(model, x, labels, step, clip, target, owner) -> np.ndarray:
    """One signed-gradient step of size ``step`` from x (no projection), then ``clip``."""
    aim = labels if target is None else target
    sign = 1.0 if target is None else -1.0  # up the true label's loss, or down the target's

    def loss_grad(logits):
        return cross_entropy_grad(logits, targets(aim, logits, owner, check_name(target)))

    _, dx = gradient_to_input(model, x, loss_grad)
    moved = x + (sign * step) * np.sign(dx).astype(x.dtype)
    return moved if clip is None else np.clip(moved, *clip).astype(x.dtype)


def pgd_steps(model, x, labels, eps, step_size, steps, clip, target, rng) -> np.ndarray:
    """PGD on a model already in the mode it is attacked in (``AdversarialLoss`` uses this
    on a model in training mode)."""
    adv = x.copy()
    if rng is not None:  # Madry's random start: uniform in the ball, then into the clip range
        adv = x + as_rng(rng).uniform(-eps, eps, size=x.shape).astype(x.dtype)
        adv = adv if clip is None else np.clip(adv, *clip)
    for _ in range(steps):
        adv = fgsm_step(model, adv, labels, step_size, None, target, "pgd")
        adv = np.clip(adv, x - eps, x + eps)  # back into the ball around x
        adv = adv if clip is None else np.clip(adv, *clip)
    return adv.astype(x.dtype)


def check_name(target) -> str:
    return "labels" if target is None else "target"


def pixel_units(eps: float, normalize: dict[str, float]) -> tuple[float, tuple[float, float]]:
    """``eps`` in pixels (0-1) and the clip range [0, 1], in the units of standardised input:
    ``(eps / std, ((0 - mean) / std, (1 - mean) / std))``."""
    mean, std = normalize["mean"], normalize["std"]
    return eps / std, ((0 - mean) / std, (1 - mean) / std)
