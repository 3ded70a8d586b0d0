"""How one number of a conv layer's feature map was computed (CNN Explainer's kernel view).

Output pixel ``(f, r, c)`` of ``Conv2d`` is

    out[f, r, c] = sum over input channels k, kernel taps (i, j) of
                   x_padded[k, r*sh + i, c*sw + j] * weight[f, k, i, j]   + bias[f]

This module takes the layer's real weights and its real input (what the previous layer
handed it for this image) and spells that sum out: the window, the kernel, their products,
one sum per input channel, the total, the bias.  The page shows these numbers next to the
feature map's own value, which came from the layer's ``forward``; the tests check they agree.
"""

from __future__ import annotations

import numpy as np

from ...layers import Conv2d


def window_origin(conv: Conv2d, row: int, col: int) -> tuple[int, int]:
    """Top-left corner of output pixel (row, col)'s window, in unpadded input coordinates
    (negative where the window starts in the zero padding)."""
    (sh, sw), (ph, pw) = conv.stride, conv.padding
    return row * sh - ph, col * sw - pw


def kernel_view(conv: Conv2d, conv_input: np.ndarray, channel: int, row: int, col: int) -> dict:
    """The computation of output pixel ``(channel, row, col)`` of ``conv``, number by number.

    Shape: conv_input (C_in, H, W), the layer's input for one image.  Returns plain lists
    (JSON-ready): ``window``, ``kernel``, ``products`` of shape (C_in, kh, kw), ``padding``
    (kh, kw) True where the window lies in the zero padding, ``channel_sums`` (C_in,),
    ``sum`` (over everything), ``bias`` and ``value = sum + bias``.  Sums are taken in
    float64 from the float32 numbers, so they agree with the layer's float32 output to
    about 1e-6 of its size.  ValueError if the pixel is not in the feature map.
    """
    C, H, W = conv_input.shape
    if C != conv.in_channels:
        raise ValueError(f"{conv!r} takes {conv.in_channels} input channels, got {C}")
    _, F, Ho, Wo = conv.output_shape((1, C, H, W))
    for name, value, size in (("channel", channel, F), ("row", row, Ho), ("col", col, Wo)):
        if not 0 <= value < size:
            raise ValueError(
                f"{name} must be from 0 to {size - 1} for this {F}x{Ho}x{Wo} "
                f"feature map, got {value}"
            )
    (kh, kw), (ph, pw) = conv.kernel_size, conv.padding
    top, left = window_origin(conv, row, col)
    # the window in the zero-padded input: (C, kh, kw)
    padded = np.pad(conv_input.astype(np.float64), ((0, 0), (ph, ph), (pw, pw)))
    window = padded[:, top + ph : top + ph + kh, left + pw : left + pw + kw]
    rows = np.arange(top, top + kh)[:, None]
    cols = np.arange(left, left + kw)[None, :]
    padding = (rows < 0) | (rows >= H) | (cols < 0) | (cols >= W)  # (kh, kw)
    kernel = conv.weight.data[channel].astype(np.float64)  # (C, kh, kw)
    products = window * kernel
    channel_sums = products.sum(axis=(1, 2))  # (C,)
    total = float(channel_sums.sum())
    bias = float(conv.bias.data[channel]) if conv.bias is not None else 0.0
    return {
        "channel": channel,
        "row": row,
        "col": col,
        "origin": [top, left],
        "stride": list(conv.stride),
        "padding_size": [ph, pw],
        "window": window.tolist(),
        "padding": padding.tolist(),
        "kernel": kernel.tolist(),
        "products": products.tolist(),
        "channel_sums": channel_sums.tolist(),
        "sum": total,
        "bias": bias,
        "has_bias": conv.bias is not None,
        "value": total + bias,
    }
