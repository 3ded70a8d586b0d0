"""Things that are not one of the classes, made from the training images themselves, to learn
how to weigh the novelty score's clues against (outlier exposure: Lee et al. 2018 fit their
stages' weights on such made-up outliers; Hendrycks et al., "Deep Anomaly Detection with
Outlier Exposure", ICLR 2019):

    halves     the top (or left) part of one image above (left of) the rest of another
    quadrants  an image cut into four quarters, put back in another order
    overlay    two images on top of each other, one shifted
    turned     an image turned by 90, 180 or 270 degrees, or mirrored (a mirrored 7 is no 7)

Each is put back in the frame of the image it came from (the ink's bounding box about as
large, its centre of mass at the same place), so that it differs from the training images in
shape, not in framing.  A transform that leaves an image almost as it was (a turned 0, a
mirrored 8) makes no outlier: those are dropped.  Nothing here draws letters, fonts or
doodles: the benchmark's non-digits (benchmarks/photo_*.py) stay unseen by the fit.

Kinds that resample the strokes (a piece enlarged, an image torn by a smooth field of
shifts) were tried and left out: they blur the strokes, and the weights learned to spot the
blur (the first conv layer's statistics) instead of the shape, so fewer handwritten letters
were refused (docs/novelty.md has the figures).  For the same reason an outlier of nearly
the right size is moved by whole pixels, not resampled.
"""

from __future__ import annotations

import numpy as np

KINDS = ("halves", "quadrants", "overlay", "turned")
#: a made-up outlier whose pixels correlate this much with its source is not one
SAME_AS_SOURCE = 0.75
#: reframing enlarges or shrinks by at most this factor (quarters rolled to the corners
#: span the whole image: shrunk to a digit's size their strokes would be hairlines)
MAX_SCALE = 1.6
#: ...and not at all within this factor
KEEP_SIZE = 1.25
#: outliers made at a time: the resampling's temporaries stay near 20 MB
CHUNK = 200


def make_outliers(X: np.ndarray, y: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """About ``count`` made-up outliers (fewer: those too like their source are dropped), an
    equal share of each kind, from the images ``X`` (any normalisation) with labels ``y``.

    Shape: X (N, C, H, W), y (N,) -> (M, C, H, W), M <= count, X's dtype
    """
    if len(X) < 2 or len(np.unique(y)) < 2:
        raise ValueError("make_outliers: needs images of two classes at least")
    n = len(X)
    first = rng.integers(0, n, count)
    second = rng.integers(0, n, count)
    second = np.where(y[second] == y[first], rng.integers(0, n, count), second)
    kinds = np.arange(count) % len(KINDS)
    made = np.empty((count, *X.shape[1:]), X.dtype)  # filled chunk by chunk, in X's dtype
    kept = 0
    for i in range(0, count, CHUNK):
        chunk = make_chunk(
            X[first[i : i + CHUNK]], X[second[i : i + CHUNK]], kinds[i : i + CHUNK], rng
        )
        made[kept : kept + len(chunk)] = chunk
        kept += len(chunk)
    return made[:kept]


def make_chunk(
    a: np.ndarray, b: np.ndarray, kinds: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Outliers from the pairs (a[i], b[i]), kind ``KINDS[kinds[i]]``, those too like a
    source dropped.  Shape: (n, C, H, W) twice, (n,) -> (m, C, H, W) float64, m <= n"""
    ground = a.min(axis=(1, 2, 3), keepdims=True)  # (n, 1, 1, 1) each image's background
    a = (a - ground).astype(np.float64)  # background 0, ink positive
    b = (b - b.min(axis=(1, 2, 3), keepdims=True)).astype(np.float64)
    made = np.empty_like(a)
    for k, name in enumerate(KINDS):
        at = kinds == k
        made[at] = MAKERS[name](a[at], b[at], rng)
    made = reframe(made, a)
    like_a_source = np.maximum(correlation(made, a), correlation(made, b))
    keep = (made.max(axis=(1, 2, 3)) > 0) & (like_a_source < SAME_AS_SOURCE)
    return (made + ground)[keep]


def halves(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image's first rows (or columns) from ``a``, the rest from ``b``, cut near the
    middle.  Shape: (N, C, H, W) twice -> (N, C, H, W)"""
    n, _, h, w = a.shape
    rows, cols = np.indices((h, w))
    by_rows = rng.integers(0, 2, n).astype(bool)[:, None, None]
    cut = (np.where(by_rows[:, 0, 0], h, w) // 2 + rng.integers(-3, 4, n))[:, None, None]
    first = np.where(by_rows, rows < cut, cols < cut)  # (N, H, W)
    return np.where(first[:, None], a, b)


def quadrants(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``a``'s halves swapped top for bottom, left for right, or both (quarters moved
    diagonally), by rolling the image half its size."""
    _, _, h, w = a.shape
    out = np.empty_like(a)
    way = rng.integers(0, 3, len(a))
    for k, shifts in enumerate(((h // 2, 0), (0, w // 2), (h // 2, w // 2))):
        out[way == k] = np.roll(a[way == k], shifts, axis=(2, 3))
    return out


def overlay(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The brighter of ``a`` and ``b`` moved by up to a quarter of the image."""
    _, _, h, w = a.shape
    rows, cols = np.indices((h, w), dtype=np.float64)
    dr = rng.integers(-(h // 4), h // 4 + 1, len(a))[:, None, None]
    dc = rng.integers(-(w // 4), w // 4 + 1, len(a))[:, None, None]
    return np.maximum(a, bilinear(b, rows - dr, cols - dc))


def turned(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``a`` turned by 90, 180 or 270 degrees, or mirrored left-right or upside down
    (square images; otherwise mirrored only)."""
    ways = 5 if a.shape[2] == a.shape[3] else 2
    way = rng.integers(0, ways, len(a)) + (5 - ways)
    out = np.empty_like(a)
    for k in range(5 - ways, 5):  # 0-2: turned (square images only), 3-4: mirrored
        part = a[way == k]
        out[way == k] = (
            np.rot90(part, k + 1, axes=(2, 3))
            if k < 3
            else (part[:, :, :, ::-1] if k == 3 else part[:, :, ::-1])
        )
    return out


MAKERS = {
    "halves": halves,
    "quadrants": quadrants,
    "overlay": overlay,
    "turned": turned,
}


def bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Each image read at fractional positions (zero outside), bilinearly.

    Shape: images (N, C, H, W), rows and cols (N, H', W') -> (N, C, H', W')
    """
    n, c, h, w = images.shape
    flat = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1))).reshape(-1)  # zero border
    r = np.clip(rows + 1, 0, h + 0.999).reshape(n, 1, -1)
    q = np.clip(cols + 1, 0, w + 0.999).reshape(n, 1, -1)
    r0, q0 = r.astype(int), q.astype(int)  # floor: both are >= 0
    fr, fq = r - r0, q - q0  # (N, 1, H'W')
    plane = np.arange(n * c).reshape(n, c, 1) * ((h + 2) * (w + 2))  # where each map starts
    corner = plane + r0 * (w + 2) + q0  # (N, C, H'W') flat index of the top-left neighbour

    def at(offset: int) -> np.ndarray:  # (N, C, H'W')
        return flat[corner + offset]

    top = at(0) * (1 - fq) + at(1) * fq
    bottom = at(w + 2) * (1 - fq) + at(w + 3) * fq
    return (top * (1 - fr) + bottom * fr).reshape(n, c, *rows.shape[1:])


def reframe(images: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``images`` (background 0) scaled so that their ink's bounding box has the longer side
    of ``like``'s (within ``MAX_SCALE``), and moved so that their centre of mass lands where
    ``like``'s is.  Shape: (N, C, H, W) twice -> (N, C, H, W)"""
    r0, r1, c0, c1 = ink_boxes(images)
    l0, l1, k0, k1 = ink_boxes(like)
    size = np.maximum(np.maximum(r1 - r0, c1 - c0), 1)
    scale = np.clip(np.maximum(l1 - l0, k1 - k0) / size, 1 / MAX_SCALE, MAX_SCALE)
    # nearly the same size: moved by whole pixels only, so that no resampling blurs the
    # strokes (a blur the clues would learn to spot instead of the shape)
    scale = np.where(np.abs(np.log(scale)) < np.log(KEEP_SIZE), 1.0, scale)[:, None, None]
    (sr, sc), (tr, tc) = mass_centres(images), mass_centres(like)
    whole = scale[:, 0, 0] == 1.0
    sr, sc = (
        np.where(whole, np.round(sr - tr) + tr, sr),
        np.where(whole, np.round(sc - tc) + tc, sc),
    )
    rows, cols = np.indices(images.shape[2:], dtype=np.float64)
    # the output pixel (row, col) reads the input at source + (output - target) / scale
    at_r = sr[:, None, None] + (rows - tr[:, None, None]) / scale
    at_c = sc[:, None, None] + (cols - tc[:, None, None]) / scale
    return bilinear(images, at_r, at_c)


def ink_boxes(images: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each image's (first row, last row + 1, first column, last column + 1) of the pixels
    above half its brightest (channels' mean); the whole image for a blank one.

    Shape: (N, C, H, W) -> four (N,) int arrays
    """
    gray = images.mean(axis=1)  # (N, H, W)
    ink = gray > gray.max(axis=(1, 2), keepdims=True) / 2
    ink[~ink.any(axis=(1, 2))] = True
    rows, cols = ink.any(axis=2), ink.any(axis=1)  # (N, H), (N, W)
    h, w = gray.shape[1:]
    first_r, first_c = rows.argmax(axis=1), cols.argmax(axis=1)
    last_r = h - rows[:, ::-1].argmax(axis=1)
    last_c = w - cols[:, ::-1].argmax(axis=1)
    return first_r, last_r, first_c, last_c


def mass_centres(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image's brightness-weighted mean (row, column), channels' mean; the middle for a
    blank image.  Shape: (N, C, H, W) -> (N,), (N,)"""
    gray = images.mean(axis=1)
    h, w = gray.shape[1:]
    total = gray.sum(axis=(1, 2))
    blank = total <= 0
    total = np.where(blank, 1.0, total)
    rows = (gray.sum(axis=2) * np.arange(h)).sum(axis=1) / total
    cols = (gray.sum(axis=1) * np.arange(w)).sum(axis=1) / total
    return np.where(blank, (h - 1) / 2, rows), np.where(blank, (w - 1) / 2, cols)


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair of images' pixels (0 where either is flat).

    Shape: (N, C, H, W) twice -> (N,)"""
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(axis=1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(norm > 0, (a * b).sum(axis=1) / np.where(norm > 0, norm, 1.0), 0.0)
