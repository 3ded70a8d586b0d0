"""Elementwise activations.  Shape: any -> same."""

from __future__ import annotations

import numpy as np

from .base import Layer


class ReLU(Layer):
    """max(0, x).  Its derivative is 1 where x > 0 and 0 elsewhere (also at x = 0, as PyTorch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        # mask = 1.0 where the input was positive, else 0.0.  A float mask (not bool) and
        # x * mask (not np.maximum(x, 0)) take NumPy's fastest loops: same-type, no scalar
        self.mask = (x > 0).astype(x.dtype)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.mask       # gradient flows only where x > 0


class LeakyReLU(Layer):
    """x where x > 0, else negative_slope * x.  A small slope keeps negative units learning."""

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = float(negative_slope)

    def config(self) -> dict:
        return dict(negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, x * self.negative_slope)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # derivative 1 where x > 0, negative_slope elsewhere (also at x = 0, as PyTorch)
        return np.where(self.mask, grad_out, grad_out * self.negative_slope)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)); its derivative is s * (1 - s), written with the output s."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))                     # <= 1: no overflow for large |x|
        self.out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.out * (1 - self.out)


class Tanh(Layer):
    """tanh(x); its derivative is 1 - tanh(x)**2, written with the output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (1 - self.out * self.out)
