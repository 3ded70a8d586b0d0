"""Occlusion (Zeiler & Fergus 2014): hide one square of the image, see how much the
probability of the class drops.  No gradients at all: only forward passes."""

from __future__ import annotations

import numpy as np

from ..input_gradients.backprop import (
    check_number,
    check_steps,
    explaining,
    in_precision_of,
    input_array,
    softmax,
    targets,
)


def occlusion(model, x, target=None, window: int = 4, stride: int | None = None, fill: float = 0.0):
    """p[target](x) − p[target](x with the window at (i·stride, j·stride) set to ``fill`` in
    every channel), shape (N, H', W') with H' = (H − window) // stride + 1 (W' likewise).

    ``p`` is the softmax of the logits; ``stride`` defaults to ``window``.  Large values mark
    the squares the model's answer depends on; negative ones, squares that argued against it.
    """
    x = input_array(x, "occlusion")
    model = in_precision_of(model, x)
    window = check_steps(window, "occlusion", "window")
    stride = window if stride is None else check_steps(stride, "occlusion", "stride")
    fill = check_number(fill, "fill", "occlusion", low=-np.inf)
    N, C, H, W = x.shape
    if window > H or window > W:
        raise ValueError(
            f"occlusion: window {window} is larger than the image ({H}x{W}); use at most {min(H, W)}"
        )
    rows, cols = (H - window) // stride + 1, (W - window) // stride + 1
    with explaining(model):
        logits = model.forward(x)
        t = targets(target, logits, "occlusion")
        samples = np.arange(N)
        p = softmax(logits)[samples, t]
        drops = np.zeros((N, rows, cols), dtype=p.dtype)
        for i in range(rows):
            for j in range(cols):
                hidden = x.copy()
                hidden[:, :, i * stride : i * stride + window, j * stride : j * stride + window] = (
                    fill
                )
                drops[:, i, j] = p - softmax(model.forward(hidden))[samples, t]
    return drops
