"""Dropout: randomly silence activations while training, so no unit can rely on another."""

from __future__ import annotations

import numbers

import numpy as np

from ..checks import flag
from .base import Layer, as_rng, real_input


class Dropout(Layer):
    """Inverted dropout, as ``torch.nn.Dropout``.

    Train mode: each element is zeroed with probability ``p`` and the survivors are
    scaled by 1 / (1 - p), so the expected output equals the input and eval mode
    needs no rescaling.  Eval mode: the identity.

    Args:
        p: probability of zeroing an element, in [0, 1].
        inplace: taken for PyTorch code, as its second argument: the output is the same, and
            the input is never changed here.
        rng: seed or ``np.random.Generator`` the masks are drawn from (never global state).

    Shape: any -> same.

    Example:
        >>> drop = Dropout(0.5, rng=0)
        >>> sorted(set(drop(np.ones((4, 4))).ravel().tolist()))
        [0.0, 2.0]
    """

    elementwise = True

    def __init__(self, p: float = 0.5, inplace: bool = False, rng=None):
        flag(inplace, "inplace", "Dropout")
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = as_rng(rng)
        self.mask = self.shape = None  # the last training forward's mask, its shape

    def config(self) -> dict:
        return dict(p=self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = real_input(x, self)
        self.shape = x.shape
        if not self.training or self.p == 0:
            self.mask = None
            return x
        dtype = x.dtype if x.dtype.kind == "f" else np.float64  # float16 stays float16
        draw = np.float32 if dtype == np.float16 else dtype  # NumPy draws float32 or float64
        keep = self.rng.random(x.shape, dtype=draw) >= self.p  # True with prob 1 - p
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        self.mask = keep * np.asarray(scale, dtype=dtype)  # 0 or 1/(1-p)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, self.shape)
        return grad_out if self.mask is None else grad_out * self.mask
