"""The seed's dataset: images of one vertical or one horizontal line, plus noise."""

from __future__ import annotations

import numpy as np

from ..checks import real, whole
from ..layers.base import as_rng

LINES_CLASSES = ("vertical", "horizontal")


def synthetic_lines(n_per_class: int = 300, noise: float = 0.05, size: int = 28, rng=None):
    """``n_per_class`` vertical (label 0) and horizontal (label 1) lines, shuffled.

    Each line is one pixel wide, spans the image, and sits at a random row/column
    at least ``size // 7`` pixels from the edges; Gaussian noise of std ``noise`` is
    added and the result clipped to [0, 1].

    Returns:
        X: float32 (2 * n_per_class, 1, size, size) in [0, 1];  y: int64 (2 * n_per_class,).
    """
    n_per_class = whole(n_per_class, "n_per_class", "synthetic_lines", low=1)
    size = whole(size, "size", "synthetic_lines", low=5)
    noise = real(noise, "noise", "synthetic_lines", low=0)
    rng = as_rng(rng)
    n = 2 * n_per_class
    y = np.repeat(np.arange(2, dtype=np.int64), n_per_class)
    margin = max(1, size // 7)
    position = rng.integers(margin, size - margin, size=n)
    X = np.zeros((n, 1, size, size), dtype=np.float32)
    vertical = y == 0
    X[vertical, 0, :, position[vertical]] = 1.0  # a column of ones
    X[~vertical, 0, position[~vertical], :] = 1.0  # a row of ones
    X += rng.normal(0.0, noise, size=X.shape).astype(np.float32)
    np.clip(X, 0.0, 1.0, out=X)
    order = rng.permutation(n)
    return X[order], y[order]
