"""Class visualisation (Simonyan et al. 2014; CS231n's third assignment): the image the
model finds most like a class, by gradient ascent on the class's logit."""

from __future__ import annotations

import numpy as np

from ...layers.base import as_rng
from ..input_gradients.backprop import (
    check_number,
    check_steps,
    explaining,
    gradient_to_input,
    one_hot,
    targets,
)


def class_image(
    model, target: int, shape, steps: int = 200, lr: float = 1.0, l2: float = 1e-3, rng=None
) -> np.ndarray:
    """Gradient ascent on logit[target] − l2·‖x‖² from a small random image; shape (C, H, W).

    ``shape``: one input's (C, H, W).  Each step moves x by ``lr`` along the gradient scaled
    to unit length (as CS231n's ``img += lr * g / g.norm()``), so ``lr`` is the distance
    moved per step whatever the logit's scale.  The image is float32 in the model's input
    units; the model predicts ``target`` for it (ValueError if the ascent has not got there).
    """
    steps = check_steps(steps, "class_image")
    lr = check_number(lr, "lr", "class_image")
    l2 = check_number(l2, "l2", "class_image")
    shape = check_shape(shape)
    x = 0.01 * as_rng(rng).standard_normal((1, *shape)).astype(np.float32)  # a faint start
    with explaining(model):
        t = targets(target, model.forward(x), "class_image")
        if t.ndim != 1 or np.ndim(target) != 0:
            raise ValueError(f"class_image: target must be one class index, got {target!r}")
        for _ in range(steps):
            _, dx = gradient_to_input(model, x, lambda logits: one_hot(t, logits))
            g = dx - 2 * l2 * x  # d(logit − l2·‖x‖²)/dx
            x = (x + lr * g / max(float(np.linalg.norm(g)), 1e-12)).astype(np.float32)
        logits = model.forward(x)[0]
    predicted = int(logits.argmax())
    if predicted != t[0]:  # the ascent raised another class's logit faster than this one's
        gap = float(logits[predicted] - logits[t[0]])
        raise ValueError(
            f"class_image: after {steps} steps the model predicts {predicted}, not {t[0]}: "
            f"logit[{t[0]}] is {gap:.3g} below logit[{predicted}], which the ascent raised "
            "too. More steps or a larger lr help only while that gap is closing; a model "
            f"that has barely learned class {t[0]} may have no image it calls {t[0]}"
        )
    return x[0]


def check_shape(shape) -> tuple[int, int, int]:
    """(C, H, W), three whole numbers >= 1."""
    try:
        dims = tuple(int(d) for d in shape)
        ok = len(dims) == 3 and all(d >= 1 and d == s for d, s in zip(dims, shape))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"class_image: shape must be one input's (C, H, W), got {shape!r}")
    return dims
