"""The seed's dataset: images of one vertical or one horizontal line, plus noise."""

from __future__ import annotations

import numpy as np

from ..checks import real, whole
from ..layers.base import as_rng

LINES_CLASSES = ("vertical", "horizontal")

#: the lines' widths are drawn from this range, in pixels of a 28x28 image (the page scales a
#: stroke to 20 pixels long: one a fifth of the pad long comes out 5-6 pixels wide)
WIDTH = (1.0, 6.0)
#: ...and their slant from +-this many degrees
SLANT = 10.0


def synthetic_lines(n_per_class: int = 300, noise: float = 0.05, size: int = 28, rng=None):
    """``n_per_class`` vertical (label 0) and horizontal (label 1) lines, shuffled.

    The lines look like the ones a learner draws on the live page's pad (once the page has
    cropped and centred them), so that the model, and its novelty check, know those too:
    each is 1 to 6 pixels wide with soft edges, at least half the image long, up to 10
    degrees off, at a random place at least ``size // 7`` pixels from the edges.
    Then Gaussian noise, its std drawn for each image between 0 and ``noise``; the result is
    clipped to [0, 1].

    Every line is drawn as a vertical one (the ``row`` axis is along it); the horizontal
    ones are those images transposed.

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

    def draw(low, high):  # one number per image, shaped to broadcast over its pixels
        return rng.uniform(low, high, size=(n, 1, 1))

    length = draw(size / 2, size)
    top = rng.uniform(0, size - length)  # the first row the line covers
    column = draw(margin, size - 1 - margin)  # where it crosses the middle of its length
    slant = np.tan(np.deg2rad(draw(-SLANT, SLANT))) * length  # across, end to end
    width = draw(*WIDTH)
    row, col = np.indices((size, size))  # (size, size) each
    along = np.clip((row - top) / (length - 1), 0, 1)  # (N, size, size): 0 at the top end
    across = np.abs(col - (column + slant * (along - 0.5)))  # distance from the centre line
    beyond = np.maximum(np.maximum(top - row, row - (top + length - 1)), 0)  # past an end
    # ink 1 within half the width of the segment, fading to 0 over the next pixel
    X = np.clip(width / 2 + 0.5 - np.hypot(across, beyond), 0, 1).astype(np.float32)
    X[y == 1] = X[y == 1].transpose(0, 2, 1)  # the horizontal lines
    strength = rng.uniform(0, noise, size=(n, 1, 1)).astype(np.float32)
    X += strength * rng.standard_normal(X.shape, dtype=np.float32)
    np.clip(X, 0.0, 1.0, out=X)
    order = rng.permutation(n)
    return X[order, None], y[order]
