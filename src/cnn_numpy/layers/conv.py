"""2-D convolution as one matrix product (im2col), with its backward (col2im).

Public layout is NCHW, as in PyTorch.  Internally the batch axis sits *last*
(``(C, H, W, N)`` in memory), because then one convolution is one product

    out (F, Ho*Wo*N) = w (F, C*kh*kw) @ cols (C*kh*kw, Ho*Wo*N)

whose result is already laid out as (F, Ho, Wo, N): no transpose, no copy.  The
layer hands back ``out.transpose(3, 0, 1, 2)``, a free NCHW *view* of that memory,
and the next conv's ``x.transpose(1, 2, 3, 0)`` turns it back into contiguous
(C, H, W, N) memory for free.  Batch last also makes every window slice fast: in
``xp[:, i:i+Ho, j:j+Wo]`` each row of Wo pixels is Wo*N contiguous numbers, so NumPy
copies long runs instead of short ones.  ReLU and MaxPool2d keep whatever layout they
get, and Flatten's (N, C*H*W) result is a view of the same memory (a (C*H*W, N) matrix,
which Linear's product reads as it is), so a whole conv stack stays batch last.  The loop
version of the same maths is in ``cnn_numpy/reference.py``; the tests prove the two agree.
"""

from __future__ import annotations

import numpy as np

from ..checks import cpu_device, flag, float_dtype, torch_defaults, whole
from .base import Layer, Parameter, as_rng, kaiming_uniform, pair, real_input
from .shape_hints import batch_hint
from .speed import reuse, rows_in_place, skip_input_grad
from .windows import conv_output_size, conv_padding, window_tap

__all__ = ["Conv2d", "col2im", "conv_output_size", "im2col"]


def pad_batch_last(x: np.ndarray, ph: int, pw: int, out: np.ndarray | None = None) -> np.ndarray:
    """x (N, C, H, W) with ph, pw zeros on each side, in batch-last (C, Hp, Wp, N) memory.

    ``out``: this function's previous result, refilled if it has the right shape and dtype
    (see ``reuse`` in layers/speed.py): only its interior is written, its zero border stays.
    """
    N, C, H, W = x.shape
    shape = (C, H + 2 * ph, W + 2 * pw, N)
    if out is None or out.shape != shape or out.dtype != x.dtype:
        out = np.zeros(shape, dtype=x.dtype)  # the border: zeros, once
    out[:, ph : ph + H, pw : pw + W] = x.transpose(1, 2, 3, 0)
    return out


def im2col(
    xp: np.ndarray,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    ho: int,
    wo: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Unfold a padded (C, Hp, Wp, N) array into columns of shape (C*kh*kw, Ho*Wo*N).

    Row (c, i, j) of the result holds, for every output pixel of every image, the input
    value that kernel tap (i, j) of channel c sees.  One strided slice per tap: kh*kw
    copies, no loop over pixels, images or channels.  ``out``: an array to fill instead
    of a new one.
    """
    C, N = xp.shape[0], xp.shape[3]
    if out is None:
        out = np.empty((C * kh * kw, ho * wo * N), dtype=xp.dtype)
    cols = out.reshape(C, kh, kw, ho, wo, N)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = window_tap(xp, i, j, (sh, sw), (ho, wo), axes=(1, 2))
    return out


def col2im(
    dcols: np.ndarray,
    padded_shape: tuple[int, ...],
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    ho: int,
    wo: int,
) -> np.ndarray:
    """The adjoint of ``im2col``: add every column entry back to the pixel it came from.

    Pixels seen by several taps (overlapping windows) receive the sum, which is the
    chain rule.  Returns the gradient of the padded (C, Hp, Wp, N) input.  A tap's slice
    is made of rows of wo*N numbers when the stride is 1: added in place, row by row
    (``rows_in_place``, layers/speed.py).
    """
    C, N = padded_shape[0], padded_shape[3]
    dcols = dcols.reshape(C, kh, kw, ho, wo, N)
    dxp = np.zeros(padded_shape, dtype=dcols.dtype)
    with rows_in_place(wo * N if sw == 1 else N):
        for i in range(kh):
            for j in range(kw):
                window_tap(dxp, i, j, (sh, sw), (ho, wo), axes=(1, 2))[...] += dcols[:, i, j]
    return dxp


# The three matrix products of a convolution, each with the trick that makes it fast named
# in its docstring (measured in docs/performance.md, "Why the code is laid out as it is").

#: the products run BLOCK columns (output pixels) at a time, see ``matmul_in_blocks``
BLOCK = 4096


def matmul_in_blocks(w: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``w @ cols``, computed BLOCK columns at a time.

    Why blocks: a thin product (a first layer has C*kh*kw = 9 rows) cut into blocks is small
    enough for OpenBLAS's unpacked small-matrix kernels on AVX-512 CPUs, several times faster
    there; on other CPUs the blocks cost a little (docs/performance.md).  Each block of the
    result is the product of the same block of columns: together, exactly the whole product.
    """
    out = np.empty((w.shape[0], cols.shape[1]), dtype=cols.dtype)
    for s in range(0, cols.shape[1], BLOCK):
        np.matmul(w, cols[:, s : s + BLOCK], out=out[:, s : s + BLOCK])
    return out


def weight_grad(g: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """dw = g @ cols.T, shape (F, C*kh*kw), for g (F, P) and cols (C*kh*kw, P).

    Computed transposed, as (cols @ g.T).T: the same sums, but with C*kh*kw rows (144 in
    LeNet's second conv) instead of F (32), which OpenBLAS splits over threads better.
    BLOCK columns at a time, as the forward product (``matmul_in_blocks``).
    """
    dw_t = np.zeros((cols.shape[0], g.shape[0]), dtype=g.dtype)  # (C*kh*kw, F)
    for s in range(0, g.shape[1], BLOCK):
        dw_t += cols[:, s : s + BLOCK] @ g[:, s : s + BLOCK].T
    return dw_t.T


def bias_grad(g: np.ndarray) -> np.ndarray:
    """db = the row sums of g (F, P), shape (F,).

    Written as the matrix-vector product g @ ones, which BLAS computes faster than NumPy's
    ``g.sum(axis=1)`` for the long rows a convolution has.
    """
    return g @ np.ones(g.shape[1], g.dtype)


def cols_grad(w: np.ndarray, g: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """dcols = w.T @ g, shape (C*kh*kw, P): the gradient of every column entry.

    ``out``: an array of that shape to fill (see ``reuse``: no page faults step after step).
    """
    return np.matmul(w.T, g, out=out)


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in every DL library).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size, stride, padding: an int or an ``(h, w)`` tuple; zero padding, or
            'valid' (none) or 'same' (stride 1, odd kernels; see ``conv_padding``).
        dilation, groups, padding_mode: PyTorch's, only at their defaults (else ValueError).
        bias: add a learned per-channel bias.
        rng: seed or ``np.random.Generator`` for the Kaiming-uniform init.
        dtype: parameter dtype; inputs are cast to it (float32 by default).
        device: PyTorch's, None or 'cpu' only (NumPy computes on the CPU).

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out) with
        H_out = floor((H + 2*padding_h - kernel_h) / stride_h) + 1   (same for W).

    Example:
        >>> conv = Conv2d(1, 8, 3, rng=0)
        >>> conv(np.zeros((2, 1, 28, 28))).shape
        (2, 8, 26, 26)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        rng=None,
        dtype=np.float32,
        *,
        device=None,
    ):
        torch_defaults("Conv2d", dilation=dilation, groups=groups, padding_mode=padding_mode)
        cpu_device(device, "Conv2d")
        self.in_channels = whole(in_channels, "in_channels", "Conv2d", low=1)
        self.out_channels = whole(out_channels, "out_channels", "Conv2d", low=1)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        padding = conv_padding(padding, self.kernel_size, self.stride, "Conv2d")
        self.padding = pair(padding, "padding", "Conv2d", low=0)
        bias = flag(bias, "bias", "Conv2d")
        rng, dtype = as_rng(rng), float_dtype(dtype, "Conv2d")
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        self.weight = Parameter(
            kaiming_uniform((out_channels, in_channels, kh, kw), fan_in, rng, dtype)
        )
        self.bias = (
            Parameter(kaiming_uniform((out_channels,), fan_in, rng, dtype)) if bias else None
        )
        self.cols = self.dcols = None  # the column matrix and its gradient, once run
        self.padded = None  # the padded batch-last input, once run
        self.out_shape = None  # the last forward's output shape

    def config(self) -> dict:
        return dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            kernel_size=list(self.kernel_size),
            stride=list(self.stride),
            padding=list(self.padding),
            bias=self.bias is not None,
            dtype=str(self.weight.data.dtype),
        )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        return s + ("" if getattr(self, "bias", True) is not None else ", bias=False")

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Output shape for an (N, C, H, W) input shape; ValueError if it does not fit."""
        if len(input_shape) != 4:
            raise ValueError(
                f"{self!r} expects a 4-D input (N, C, H, W), got shape "
                f"{tuple(input_shape)}{batch_hint(input_shape, self.in_channels)}"
            )
        N, C, H, W = input_shape
        if C != self.in_channels:
            raise ValueError(
                f"{self!r} expects {self.in_channels} input channel(s), got shape "
                f"{tuple(input_shape)} with {C} channel(s)"
                f"{batch_hint(input_shape, self.in_channels)}"
            )
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if H + 2 * ph < kh or W + 2 * pw < kw:
            raise ValueError(
                f"{self!r}: kernel {kh}x{kw} is larger than the padded input "
                f"{H + 2 * ph}x{W + 2 * pw} (input {H}x{W}, padding {self.padding})"
            )
        return (
            N,
            self.out_channels,
            conv_output_size(H, kh, self.stride[0], ph),
            conv_output_size(W, kw, self.stride[1], pw),
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        N, F, Ho, Wo = self.out_shape = self.output_shape(np.shape(x))
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        x = real_input(x, self).astype(self.weight.data.dtype, copy=False)
        C, H, W = x.shape[1:]
        # (N, C, H, W) -> zero-padded (C, Hp, Wp, N): batch last, see module docstring
        xp = self.padded = pad_batch_last(x, ph, pw, out=self.padded)
        cols_memory = reuse(self.cols, (C * kh * kw, Ho * Wo * N), x.dtype)  # see layers/speed.py
        self.cols = im2col(xp, kh, kw, sh, sw, Ho, Wo, out=cols_memory)  # (C*kh*kw, Ho*Wo*N)
        self.padded_shape, self.input_hw = xp.shape, (H, W)
        out = matmul_in_blocks(self.weight.data.reshape(F, -1), self.cols)  # (F, Ho*Wo*N)
        out = out.reshape(F, Ho, Wo, N)
        if self.bias is not None:
            out += self.bias.data[:, None, None, None]
        return out.transpose(3, 0, 1, 2)  # (N, F, Ho, Wo) view

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """out = w @ cols + b, so  dw = G @ cols.T,  db = sum of G,  dcols = w.T @ G."""
        G = self.check_grad(grad_out, self.out_shape).astype(self.weight.data.dtype, copy=False)
        N, F, Ho, Wo = G.shape
        G = G.transpose(1, 2, 3, 0).reshape(F, Ho * Wo * N)  # (F, Ho*Wo*N)
        w = self.weight.data.reshape(F, -1)  # (F, C*kh*kw)
        self.weight.grad += weight_grad(G, self.cols).reshape(self.weight.data.shape)  # G colsᵀ
        if self.bias is not None:
            self.bias.grad += bias_grad(G)  # row sums of G
        if skip_input_grad(self):  # nobody needs dL/dx (see layers/speed.py)
            return None
        self.dcols = cols_grad(w, G, out=reuse(self.dcols, self.cols.shape, G.dtype))  # wᵀ G
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        dxp = col2im(self.dcols, self.padded_shape, kh, kw, sh, sw, Ho, Wo)  # (C, Hp, Wp, N)
        (H, W), (ph, pw) = self.input_hw, self.padding
        return dxp[:, ph : ph + H, pw : pw + W].transpose(3, 0, 1, 2)  # (N, C, H, W) view
