"""Max pooling by strided slices.

A k x k window is k*k strided views of the input, one per window position (i, j);
the pooled output is their elementwise maximum.  This is ~35x faster than
``reshape(...).max(...)`` and works for any stride, including overlapping windows.
The loop version is ``cnn_numpy.reference.max_pool2d``.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, pair
from .conv import conv_output_size


def window_views(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int):
    """Yield ((i, j), view) for every offset in the window, in row-major order.

    ``view[n, c, a, b] == x[n, c, a*sh + i, b*sw + j]``: tap (i, j) of window (a, b).
    """
    for i in range(kh):
        for j in range(kw):
            yield (i, j), x[:, :, i : i + sh * ho : sh, j : j + sw * wo : sw]


class MaxPool2d(Layer):
    """Maximum over each kernel_size window, moved by stride (default: kernel_size).

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H - k_h) / s_h) + 1.

    Backward: each output's gradient goes to the element that was the maximum.  When
    a window has several equal maxima (common after ReLU: many zeros) it goes to
    exactly one of them, the first in row-major order, as in PyTorch.

    Example:
        >>> MaxPool2d(2)(np.zeros((1, 8, 26, 26))).shape
        (1, 8, 13, 13)
    """

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        if min(*self.kernel_size, *self.stride) < 1:
            raise ValueError(f"{self!r}: kernel_size and stride must be >= 1")

    def config(self) -> dict:
        return dict(kernel_size=list(self.kernel_size), stride=list(self.stride))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 4:
            raise ValueError(f"{self!r} expects a 4-D input (N, C, H, W), got shape "
                             f"{tuple(input_shape)}")
        N, C, H, W = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if H < kh or W < kw:
            raise ValueError(f"{self!r}: window {kh}x{kw} is larger than the input {H}x{W} "
                             f"(input shape {tuple(input_shape)})")
        return N, C, conv_output_size(H, kh, sh, 0), conv_output_size(W, kw, sw, 0)

    def _views(self, x, ho, wo):
        return window_views(x, *self.kernel_size, *self.stride, ho, wo)

    def max_and_argmax(self, x: np.ndarray, ho: int, wo: int, with_argmax: bool):
        """The pooled maxima and, if asked, ``argmax``: which tap t (0 .. kh*kw-1, row-major)
        of each window holds its max."""
        taps = enumerate(self._views(x, ho, wo))
        out = next(taps)[1][1].copy(order="K")  # order K keeps x's memory layout (see conv.py)
        tap_type = np.min_scalar_type(self.kernel_size[0] * self.kernel_size[1] - 1)
        argmax = np.zeros_like(out, dtype=tap_type) if with_argmax else None
        for t, (_, view) in taps:
            if with_argmax:
                # strictly greater: a tie keeps the earlier tap (row-major first, as PyTorch);
                # taps come in increasing t, so the max of t over "better" taps is the last one
                np.maximum(argmax, (view > out) * tap_type.type(t), out=argmax)
            np.maximum(out, view, out=out)
        return out, argmax

    def forward(self, x: np.ndarray) -> np.ndarray:
        *_, ho, wo = self.output_shape(np.shape(x))
        out, self.argmax = self.max_and_argmax(x, ho, wo, with_argmax=self.training)
        self.x = x
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        ho, wo = grad_out.shape[2:]
        if self.argmax is None:  # forward ran in eval mode, which skips argmax: find it now
            _, self.argmax = self.max_and_argmax(self.x, ho, wo, with_argmax=True)
        overlap = any(s < k for s, k in zip(self.stride, self.kernel_size, strict=True))
        # windows that tile the input exactly write every pixel once: no need to zero it first
        (kh, kw), (H, W) = self.kernel_size, self.x.shape[2:]
        tiled = self.stride == self.kernel_size and (H, W) == (kh * ho, kw * wo)
        dx = (np.empty_like if tiled else np.zeros_like)(self.x, dtype=grad_out.dtype)  # x's layout
        for t, (_, dview) in enumerate(self._views(dx, ho, wo)):
            if overlap:  # += : overlapping windows share pixels
                dview += grad_out * (self.argmax == t)
            else:        # each pixel is in one window at most: write, don't add
                np.multiply(grad_out, self.argmax == t, out=dview)
        return dx


class AvgPool2d(Layer):
    """Mean over each kernel_size window, moved by stride (default: kernel_size).

    Zero padding counts in the mean (PyTorch's ``count_include_pad=True``): every window
    divides by k_h * k_w.  As in PyTorch, padding may be at most half the kernel.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H + 2*p_h - k_h) / s_h) + 1.

    Backward: each output's gradient is shared equally, 1 / (k_h * k_w), by its window.

    Example:
        >>> AvgPool2d(2)(np.ones((1, 3, 6, 6))).shape
        (1, 3, 3, 3)
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if min(*self.kernel_size, *self.stride) < 1:
            raise ValueError(f"{self!r}: kernel_size and stride must be >= 1")
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if min(ph, pw) < 0 or 2 * ph > kh or 2 * pw > kw:
            raise ValueError(f"{self!r}: padding must be >= 0 and at most half of kernel_size")

    def config(self) -> dict:
        return dict(kernel_size=list(self.kernel_size), stride=list(self.stride),
                    padding=list(self.padding))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 4:
            raise ValueError(f"{self!r} expects a 4-D input (N, C, H, W), got shape "
                             f"{tuple(input_shape)}")
        N, C, H, W = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if H + 2 * ph < kh or W + 2 * pw < kw:
            raise ValueError(f"{self!r}: window {kh}x{kw} is larger than the padded input "
                             f"{H + 2 * ph}x{W + 2 * pw} (input shape {tuple(input_shape)})")
        return N, C, conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)

    def forward(self, x: np.ndarray) -> np.ndarray:
        *_, ho, wo = self.output_shape(np.shape(x))
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        x = np.asarray(x)
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))        # (N, C, H+2p, W+2p)
        out = np.zeros(x.shape[:2] + (ho, wo), dtype=x.dtype)
        for _, view in window_views(xp, kh, kw, *self.stride, ho, wo):
            out += view
        self.input_shape, self.padded_shape = x.shape, xp.shape
        return out / np.asarray(kh * kw, dtype=out.dtype)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        ho, wo = grad_out.shape[2:]
        share = grad_out / np.asarray(kh * kw, dtype=grad_out.dtype)
        dxp = np.zeros(self.padded_shape, dtype=grad_out.dtype)
        for _, dview in window_views(dxp, kh, kw, *self.stride, ho, wo):
            dview += share                           # += : overlapping windows share pixels
        H, W = self.input_shape[2:]
        return dxp[:, :, ph : ph + H, pw : pw + W]
