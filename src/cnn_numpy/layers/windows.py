"""Sliding windows, shared by convolution and pooling: the output size, and the strided view
of one kernel tap.

A k x k window slid over an image touches, with its tap (i, j), the pixels
``(a*s + i, b*s + j)`` for every output position (a, b).  That set is one strided slice of
the image, so a whole layer is k*k slices: no loop over pixels, images or channels.
"""

from __future__ import annotations

import numpy as np


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """floor((size + 2*padding - kernel) / stride) + 1, PyTorch's formula."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_padding(padding, kernel_size: tuple[int, int], stride: tuple[int, int], owner: str):
    """PyTorch's ``padding='valid'`` (none) and ``'same'`` (output size = input size) as the
    number of zeros on each side, (ph, pw); any other value is returned as it is.

    'same' needs stride 1 (PyTorch refuses it too) and, here, odd kernel sizes: k - 1 zeros
    then split evenly, (k - 1) / 2 on each side.  (PyTorch pads an even kernel's k - 1 zeros
    unevenly, one more at the bottom and right; this library pads evenly.)
    """
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(
            f"{owner}: padding must be a number, a pair, 'valid' or 'same', got {padding!r}"
        )
    if stride != (1, 1):
        raise ValueError(
            f"{owner}: padding='same' needs stride 1 (as PyTorch), got stride {stride}"
        )
    if kernel_size[0] % 2 == 0 or kernel_size[1] % 2 == 0:
        raise ValueError(
            f"{owner}: padding='same' with the even kernel_size {kernel_size} needs uneven "
            "padding (PyTorch puts the extra zero at the bottom and right), which this library "
            "does not do; use an odd kernel_size, or padding=k // 2 and crop the extra row"
        )
    return (kernel_size[0] - 1) // 2, (kernel_size[1] - 1) // 2


def window_tap(
    x: np.ndarray,
    i: int,
    j: int,
    stride: tuple[int, int],
    out_size: tuple[int, int],
    axes: tuple[int, int] = (2, 3),
) -> np.ndarray:
    """The view of ``x`` that kernel tap (i, j) sees at every output position (a, b).

    Along ``axes`` (the height and width axes of x): ``view[a, b] = x[a*sh + i, b*sw + j]``,
    a view, not a copy, so writing into it writes into ``x``.
    """
    (sh, sw), (ho, wo) = stride, out_size
    index = [slice(None)] * x.ndim
    index[axes[0]] = slice(i, i + sh * ho, sh)
    index[axes[1]] = slice(j, j + sw * wo, sw)
    return x[tuple(index)]
