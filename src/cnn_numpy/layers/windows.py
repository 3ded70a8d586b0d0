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
