"""Max and average pooling by strided slices.

A k x k window is k*k strided views of the input, one per tap (i, j) of the window
(``window_tap``); the pooled output is their elementwise maximum, or their mean.  This is
~20x faster than ``reshape(...).max(...)`` and works for any stride, including overlapping
windows.  The loop version is ``cnn_numpy.reference.max_pool2d``.
"""

from __future__ import annotations

import numpy as np

from ..checks import torch_defaults
from .base import Layer, pair, real_input
from .windows import conv_output_size, window_tap


class _Pool2d(Layer):
    """What max and average pooling share: kernel_size, stride (default: kernel_size),
    zero padding (at most half the kernel, as PyTorch), the output-size formula, the taps.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H + 2*p_h - k_h) / s_h) + 1.
    """

    #: whether config and repr name the padding (MaxPool2d: only when there is some)
    has_padding = True

    def __init__(self, kernel_size, stride=None, padding=0):
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name)
        self.padding = pair(padding, "padding", name, low=0)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if 2 * ph > kh or 2 * pw > kw:
            raise ValueError(f"{self!r}: padding must be >= 0 and at most half of kernel_size")
        self.out_shape = None  # the last forward's output shape

    def config(self) -> dict:
        config = dict(kernel_size=list(self.kernel_size), stride=list(self.stride))
        return {**config, "padding": list(self.padding)} if self.has_padding else config

    def extra_repr(self) -> str:
        padding = f", padding={self.padding}" if self.has_padding else ""
        return f"kernel_size={self.kernel_size}, stride={self.stride}{padding}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 4:
            raise ValueError(
                f"{self!r} expects a 4-D input (N, C, H, W), got shape {tuple(input_shape)}"
            )
        N, C, H, W = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if H + 2 * ph < kh or W + 2 * pw < kw:
            padded = "padded input" if self.padding != (0, 0) else "input"
            raise ValueError(
                f"{self!r}: window {kh}x{kw} is larger than the {padded} "
                f"{H + 2 * ph}x{W + 2 * pw} (input shape {tuple(input_shape)})"
            )
        return N, C, conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)

    def taps(self, x: np.ndarray, out_size: tuple[int, int]) -> list[np.ndarray]:
        """The kh*kw views of x, one per window tap, row-major: ``taps[t][n, c, a, b]`` is
        tap t = i*kw + j of window (a, b)."""
        kh, kw = self.kernel_size
        return [window_tap(x, i, j, self.stride, out_size) for i in range(kh) for j in range(kw)]


class MaxPool2d(_Pool2d):
    """Maximum over each kernel_size window, moved by stride (default: kernel_size).

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H + 2*p_h - k_h) / s_h) + 1.

    padding: as PyTorch, -inf on each side (at most half the kernel), so a padded pixel is
    never a window's maximum: ``MaxPool2d(3, 2, padding=1)`` is ResNet's stem pooling.
    PyTorch's dilation, return_indices and ceil_mode are taken at their defaults only;
    anything else is a ValueError saying what to do instead.

    Backward: each output's gradient goes to the element that was the maximum.  When
    a window has several equal maxima (common after ReLU: many zeros) it goes to
    exactly one of them, the first in row-major order, as in PyTorch.

    Example:
        >>> MaxPool2d(2)(np.zeros((1, 8, 26, 26))).shape
        (1, 8, 13, 13)
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        torch_defaults("MaxPool2d", dilation=dilation, ceil_mode=ceil_mode)
        torch_defaults("MaxPool2d", return_indices=return_indices)
        super().__init__(kernel_size, stride, padding)
        self.x = self.argmax = None

    @property
    def has_padding(self) -> bool:  # named in config and repr only when there is some
        return self.padding != (0, 0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out_shape = self.output_shape(np.shape(x))
        x = real_input(x, self)
        (ph, pw) = self.padding
        if self.has_padding:  # -inf, never a maximum (a copy in NCHW order)
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=lowest(x.dtype))
        self.x = x  # the padded input, when padded
        taps = self.taps(x, self.out_shape[2:])  # kh*kw views of x, one per window tap
        out, self.argmax = max_and_argmax(taps, with_argmax=self.training)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dx[window's max] = grad_out[window]: tap t's view of dx gets grad_out where
        argmax == t (tap t held its window's max), 0 elsewhere."""
        out_size = self.check_grad(grad_out, self.out_shape).shape[2:]
        grad_out = np.asarray(grad_out)
        if self.argmax is None:  # forward ran in eval mode, which skips the argmax
            _, self.argmax = max_and_argmax(self.taps(self.x, out_size), with_argmax=True)
        dx = self.grad_buffer(grad_out.dtype, out_size)
        overlap = any(s < k for s, k in zip(self.stride, self.kernel_size))
        for t, dx_tap in enumerate(self.taps(dx, out_size)):
            if overlap:  # overlapping windows share pixels: add
                dx_tap += grad_out * (self.argmax == t)
            else:  # each pixel is in one window at most: write
                np.multiply(grad_out, self.argmax == t, out=dx_tap)
        (ph, pw), (H, W) = self.padding, dx.shape[2:]
        return dx[:, :, ph : H - ph, pw : W - pw]  # the padding's gradient dropped

    def grad_buffer(self, dtype, out_size: tuple[int, int]) -> np.ndarray:
        """dx's memory, in x's layout.  Zeros, unless the windows tile x exactly (stride =
        kernel and nothing left over): then backward writes every pixel once, and the
        zeroing pass is skipped (``np.empty_like``)."""
        (kh, kw), (ho, wo) = self.kernel_size, out_size
        tiled = self.stride == self.kernel_size and self.x.shape[2:] == (kh * ho, kw * wo)
        return (np.empty_like if tiled else np.zeros_like)(self.x, dtype=dtype)


def lowest(dtype: np.dtype):
    """MaxPool2d's padding value: -inf for floats; integers and booleans have no -inf, so
    their smallest value (as PyTorch, which pools integer tensors too)."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def max_and_argmax(taps: list[np.ndarray], with_argmax: bool):
    """out = the elementwise max of the taps; argmax = which tap t holds it (the first on
    ties, as PyTorch), or None unless ``with_argmax``.

    Written without a mask assignment (slow on strided views): taps come in increasing t,
    and a tap that beats the running max *strictly* is the window's new argmax, so
    argmax = max over t of t * (tap_t > running max).
    """
    first, *rest = taps
    out = first.copy(order="K")  # order K keeps x's memory layout (see conv.py)
    tap_type = np.min_scalar_type(len(rest))
    argmax = np.zeros_like(out, dtype=tap_type) if with_argmax else None
    for t, view in enumerate(rest, 1):
        if with_argmax:
            np.maximum(argmax, (view > out) * tap_type.type(t), out=argmax)
        np.maximum(out, view, out=out)
    return out, argmax


class AvgPool2d(_Pool2d):
    """Mean over each kernel_size window, moved by stride (default: kernel_size).

    Zero padding counts in the mean (PyTorch's ``count_include_pad=True``): every window
    divides by k_h * k_w.  As in PyTorch, padding may be at most half the kernel.  PyTorch's
    ceil_mode, count_include_pad and divisor_override are taken at their defaults only.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H + 2*p_h - k_h) / s_h) + 1.

    Backward: each output's gradient is shared equally, 1 / (k_h * k_w), by its window.

    Example:
        >>> AvgPool2d(2)(np.ones((1, 3, 6, 6))).shape
        (1, 3, 3, 3)
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        torch_defaults("AvgPool2d", ceil_mode=ceil_mode, count_include_pad=count_include_pad)
        torch_defaults("AvgPool2d", divisor_override=divisor_override)
        super().__init__(kernel_size, stride, padding)
        self.input_shape = self.padded_shape = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out_shape = self.output_shape(np.shape(x))
        out_size = self.out_shape[2:]
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        x = real_input(x, self)
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # (N, C, H+2p, W+2p)
        out = np.zeros(x.shape[:2] + out_size, dtype=x.dtype)
        for view in self.taps(xp, out_size):
            out += view
        self.input_shape, self.padded_shape = x.shape, xp.shape
        return out / np.asarray(kh * kw, dtype=out.dtype)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self.check_grad(grad_out, self.out_shape)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        share = grad_out / np.asarray(kh * kw, dtype=grad_out.dtype)
        dxp = np.zeros(self.padded_shape, dtype=grad_out.dtype)
        for dview in self.taps(dxp, grad_out.shape[2:]):
            dview += share  # += : overlapping windows share pixels
        H, W = self.input_shape[2:]
        return dxp[:, :, ph : ph + H, pw : pw + W]
