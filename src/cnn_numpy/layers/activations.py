"""Elementwise activations.  Shape: any -> same."""

from __future__ import annotations

import numpy as np

from ..checks import flag, real
from .base import Layer, real_input


class ReLU(Layer):
    """max(0, x).  Its derivative is 1 where x > 0 and 0 elsewhere (also at x = 0, as PyTorch).

    ``inplace`` is taken for PyTorch code (``ReLU(inplace=True)``): the output is the same,
    and the input is never changed here.
    """

    mask = None
    elementwise = True

    def __init__(self, inplace: bool = False):
        flag(inplace, "inplace", "ReLU")

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = real_input(x, self)
        # mask = 1.0 where the input was positive, else 0.0.  A float mask (not bool) and
        # x * mask (not np.maximum(x, 0)) take NumPy's fastest loops: same-type, no scalar.
        # A negative x times 0.0 is -0.0, which equals 0 (NumPy prints it "-0.")
        self.mask = (x > 0).astype(x.dtype)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, getattr(self.mask, "shape", None))
        return grad_out * self.mask  # gradient flows only where x > 0


class LeakyReLU(Layer):
    """x where x > 0, else negative_slope * x.  A small slope keeps negative units learning.
    ``inplace``: as ``ReLU``'s (taken, the input never changed)."""

    mask = None
    elementwise = True

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        flag(inplace, "inplace", "LeakyReLU")
        self.negative_slope = real(negative_slope, "negative_slope", "LeakyReLU")

    def config(self) -> dict:
        return dict(negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = real_input(x, self)
        self.mask = x > 0
        return np.where(self.mask, x, x * self.negative_slope)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, getattr(self.mask, "shape", None))
        # derivative 1 where x > 0, negative_slope elsewhere (also at x = 0, as PyTorch)
        return np.where(self.mask, grad_out, grad_out * self.negative_slope)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)); its derivative is s * (1 - s), written with the output s."""

    out = None
    elementwise = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = real_input(x, self)
        e = np.exp(-np.abs(x))  # <= 1: no overflow for large |x|
        self.out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.out.copy()  # ours stays as it was, whatever the caller does to theirs

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, getattr(self.out, "shape", None))
        return grad_out * self.out * (1 - self.out)


class Tanh(Layer):
    """tanh(x); its derivative is 1 - tanh(x)**2, written with the output."""

    out = None
    elementwise = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(real_input(x, self))
        return self.out.copy()  # ours stays as it was, whatever the caller does to theirs

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, getattr(self.out, "shape", None))
        return grad_out * (1 - self.out * self.out)
