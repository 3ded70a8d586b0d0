"""Elementwise activations.  Shape: any -> same."""

from __future__ import annotations

import numpy as np

from .base import Layer


class ReLU(Layer):
    """max(0, x).  Its derivative is 1 where x > 0 and 0 elsewhere (also at x = 0, as PyTorch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0                 # remember where the input was positive
        return np.maximum(x, 0, dtype=x.dtype)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.mask       # gradient flows only where x > 0
