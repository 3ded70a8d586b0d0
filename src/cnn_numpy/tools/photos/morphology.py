"""Grey-level morphology and blurs on (H, W) float images, in NumPy, in time independent of
the window: the filters that find the paper under the ink (``closing``) and fatten thin
strokes (``max_filter``).

    max_filter(x, k)[i, j] = max of x over the k x k window centred on (i, j)
    closing(x, k)          = min_filter(max_filter(x, k), k): dark details narrower than k
                             are filled in with their surroundings; wider dark areas keep
                             their shape (so a shadow's edge stays where it is)

Edges repeat the border pixels, as if the frame went on: a strip of desk along the border
stays desk.
"""

from __future__ import annotations

import numpy as np


def running_max(x: np.ndarray, size: int) -> np.ndarray:
    """Max over a centred window of ``size`` (odd) along the last axis.

    van Herk / Gil-Werman: cut the padded row into blocks of ``size``; within each block take
    the running max from the left (``ahead``) and from the right (``behind``).  Any window of
    ``size`` spans at most two neighbouring blocks, so its max is ``max(behind[start],
    ahead[end])``: three comparisons per pixel for any window size (a plain sliding max
    costs ``size``).

    Shape: (..., W) -> (..., W)
    """
    if size <= 1:
        return x.copy()
    radius = size // 2
    n = x.shape[-1]
    blocks = -(-(n + 2 * radius) // size)
    extra = blocks * size - (n + 2 * radius)
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(radius, radius + extra)], mode="edge")
    tiles = padded.reshape(*x.shape[:-1], blocks, size)
    ahead = np.maximum.accumulate(tiles, axis=-1).reshape(padded.shape)
    behind = np.maximum.accumulate(tiles[..., ::-1], axis=-1)[..., ::-1].reshape(padded.shape)
    # the window of output i covers padded[i : i + size]
    return np.maximum(behind[..., :n], ahead[..., size - 1 : size - 1 + n])


def max_filter(image: np.ndarray, size: int) -> np.ndarray:
    """Max over the ``size x size`` window (odd size) around each pixel (a dilation).

    Shape: (H, W) -> (H, W)
    """
    rows_done = running_max(image, size)  # along each row
    return running_max(rows_done.T, size).T  # then along each column


def round_max_filter(image: np.ndarray, size: int) -> np.ndarray:
    """Max over an octagon ``size`` pixels across (a round pen's tip, nearly): 3x3 squares
    and 3x3 crosses taken in turn, ``size // 2`` steps.  A square window would widen
    diagonal strokes 1.4 times more than straight ones.  Shape: (H, W) -> (H, W)"""
    out = image
    for step in range(size // 2):
        if step % 2 == 0:
            out = max_filter(out, 3)
        else:
            p = np.pad(out, 1, mode="edge")
            out = np.maximum.reduce(
                [p[1:-1, 1:-1], p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]]
            )
    return out


def min_filter(image: np.ndarray, size: int) -> np.ndarray:
    """Min over the ``size x size`` window around each pixel (an erosion).  Shape: as input."""
    return -max_filter(-image, size)


def closing(image: np.ndarray, size: int, beyond: np.ndarray | None = None) -> np.ndarray:
    """Dilate then erode: removes dark details narrower than ``size``.  Shape: as input.

    The frame is extended ``size`` pixels out first, once for both steps, by repeating the
    border of ``beyond`` (default: the image itself).  Padding each step separately would
    repeat the *dilated* border, and lift a gradient that darkens towards the frame's edge
    by half a window; ``beyond`` lets a stroke that touches the edge not be repeated out
    into a wide dark band."""
    padded = np.pad(image if beyond is None else beyond, size, mode="edge")
    padded[size:-size, size:-size] = image
    return min_filter(max_filter(padded, size), size)[size:-size, size:-size]


def opening(image: np.ndarray, size: int, beyond: np.ndarray | None = None) -> np.ndarray:
    """Erode then dilate: removes bright details narrower than ``size``.  Shape: as input."""
    return -closing(-image, size, None if beyond is None else -beyond)


def box_blur(image: np.ndarray, size: int) -> np.ndarray:
    """Mean over the ``size x size`` window (odd size) around each pixel, from cumulative
    sums (a summed-area table: four lookups per pixel for any size); edges repeated.

    Shape: (H, W) -> (H, W)
    """
    if size <= 1:
        return image.astype(np.float32, copy=True)
    radius = size // 2
    padded = np.pad(image.astype(np.float64), radius + 1, mode="edge")
    table = padded.cumsum(axis=0).cumsum(axis=1)
    h, w = image.shape
    # sum over rows (i - r .. i + r) and columns (j - r .. j + r) of the image
    total = (
        table[size : size + h, size : size + w]
        - table[:h, size : size + w]
        - table[size : size + h, :w]
        + table[:h, :w]
    )
    return (total / size**2).astype(np.float32)


def odd(value: float) -> int:
    """The nearest odd whole number >= 1 (windows have a centre pixel)."""
    return max(1, int(round((value - 1) / 2)) * 2 + 1)
