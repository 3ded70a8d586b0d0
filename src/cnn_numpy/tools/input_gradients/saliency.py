"""Saliency (Simonyan et al. 2014): the gradient of the target's logit with respect to the
input, the simplest explanation there is."""

from __future__ import annotations

import numpy as np

from .backprop import explaining, gradient_to_input, in_precision_of, input_array, one_hot, targets


def saliency(model, x, target=None) -> np.ndarray:
    """∂ logit[target] / ∂ x, signed (Simonyan et al. 2014), shape (N, C, H, W).

    ``target``: an int, an int array (N,), or None for the predicted class.  The picture
    is ``abs(s).max(axis=1)``: how much a small change of each pixel moves the score.

    Example:
        >>> s = saliency(model, x)              # x: (N, 1, 28, 28) as the model takes it
        >>> heat = np.abs(s).max(axis=1)        # (N, 28, 28)
    """
    x = input_array(x, "saliency")
    model = in_precision_of(model, x)
    with explaining(model):
        _, dx = gradient_to_input(
            model, x, lambda logits: one_hot(targets(target, logits, "saliency"), logits)
        )
    return dx
