"""``AdaptiveAvgPool2d``: average pooling to a fixed output size, whatever the input's.

With ``output_size=1`` it is global average pooling, each channel's mean over the whole
image, which ResNet uses instead of a large Linear layer after its last convolution.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, pair, real_input


def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's windows: output cell i averages input rows floor(i*size/out) up to (not
    including) ceil((i+1)*size/out).  They tile the input, overlapping when out does not
    divide size."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_size(value) -> tuple[int | None, int | None]:
    """``output_size`` as a pair: ``2 -> (2, 2)``; in a pair, None (the input's size on that
    axis) stays, as in PyTorch; anything else is a ValueError."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and None in value:
        whole = [v for v in value if v is not None]  # the sizes given, checked as pair() does
        if all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in whole
        ):
            return tuple(None if v is None else int(v) for v in value)
        raise ValueError(
            "AdaptiveAvgPool2d: output_size must be >= 1: a whole number, or a pair (h, w) of "
            f"them, where None keeps the input's size, got {value!r}"
        )
    return pair(value, "output_size", "AdaptiveAvgPool2d")


class AdaptiveAvgPool2d(Layer):
    """Mean over the windows that cut each channel into ``output_size`` cells (PyTorch's).

    Args:
        output_size: an int or an ``(h, w)`` pair, each at least 1, or None in the pair to
            keep the input's size on that axis (PyTorch's ``(None, 7)``); ``1`` is global
            average pooling.  An output larger than the input repeats its pixels, as
            PyTorch does.

    Shape: (N, C, H, W) -> (N, C, out_h, out_w); a None size is the input's (H or W).

    Backward: each cell's gradient is shared equally by the pixels of its window.

    Example:
        >>> AdaptiveAvgPool2d(1)(np.ones((2, 64, 7, 7))).shape
        (2, 64, 1, 1)
    """

    def __init__(self, output_size=1):
        self.output_size = adaptive_size(output_size)
        self.input_shape = self.out_shape = None  # the last forward's

    def out_size(self, H: int, W: int) -> tuple[int, int]:
        """(out_h, out_w) for H x W inputs: a None size is the input's own."""
        oh, ow = self.output_size
        return (H if oh is None else oh, W if ow is None else ow)

    def config(self) -> dict:
        return {"output_size": list(self.output_size)}

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 4 or min(input_shape[2:]) < 1:
            raise ValueError(
                f"{self!r} expects a 4-D input (N, C, H, W) with H, W >= 1, got shape "
                f"{tuple(input_shape)}"
            )
        return (*tuple(input_shape)[:2], *self.out_size(*input_shape[2:]))

    def cells(self, H: int, W: int):
        """((top, bottom), (left, right)) of every output cell (a, b), with a and b."""
        out_h, out_w = self.out_size(H, W)
        rows, cols = adaptive_windows(H, out_h), adaptive_windows(W, out_w)
        for a, r in enumerate(rows):
            for b, c in enumerate(cols):
                yield a, b, r, c

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out_shape = self.output_shape(np.shape(x))
        x = real_input(x, self)
        self.input_shape = x.shape
        dtype = np.result_type(x.dtype, np.float32)  # whole numbers: float32 means
        if self.output_size == (1, 1):  # global average pooling: one mean per channel
            return x.mean(axis=(2, 3), keepdims=True, dtype=dtype)
        out = np.empty(self.out_shape, dtype=dtype)
        for a, b, (r0, r1), (c0, c1) in self.cells(*x.shape[2:]):
            out[:, :, a, b] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, self.out_shape)
        N, C, H, W = self.input_shape
        if self.output_size == (1, 1):  # d mean / d x = 1 / (H*W) for every pixel
            return np.broadcast_to(
                grad_out / np.asarray(H * W, grad_out.dtype), self.input_shape
            ).copy()
        dx = np.zeros(self.input_shape, dtype=grad_out.dtype)
        for a, b, (r0, r1), (c0, c1) in self.cells(H, W):
            area = np.asarray((r1 - r0) * (c1 - c0), dtype=grad_out.dtype)
            dx[:, :, r0:r1, c0:c1] += (grad_out[:, :, a, b] / area)[
                :, :, None, None
            ]  # += : windows may overlap
        return dx
