"""Hand-drawn-looking digits from pen strokes, for the page's tests.

Each digit is a few strokes (polylines in a unit square, y down).  ``render`` draws them
with a round pen, jittered (scale, slant, rotation, wobble), on a 280x280 white page, the
way the pad of ``cnn-numpy serve`` looks after drawing; ``preprocess_digit`` then makes the
28x28 input as it does for the page.  The browser tests draw the same strokes with the mouse.
"""

from __future__ import annotations

import numpy as np

from cnn_numpy.tools.photos.images import preprocess_digit


def arc(
    cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 16
) -> list[tuple[float, float]]:
    """Points on an ellipse from angle ``start`` to ``stop`` (degrees, 0 = right, 90 = down)."""
    t = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


DIGITS: dict[int, list[list[tuple[float, float]]]] = {
    0: [arc(0.5, 0.5, 0.26, 0.4, -90, 275, 24)],
    1: [[(0.4, 0.22), (0.55, 0.1), (0.55, 0.9)]],
    2: [arc(0.5, 0.32, 0.24, 0.22, 200, 380, 12) + [(0.3, 0.88), (0.78, 0.88)]],
    3: [arc(0.48, 0.3, 0.24, 0.2, 200, 450, 14) + arc(0.48, 0.7, 0.26, 0.2, 270, 520, 14)[1:]],
    4: [[(0.55, 0.1), (0.22, 0.62), (0.8, 0.62)], [(0.62, 0.32), (0.62, 0.9)]],
    5: [[(0.72, 0.12), (0.35, 0.12), (0.3, 0.45)] + arc(0.5, 0.66, 0.26, 0.24, 230, 500, 16)],
    6: [[(0.68, 0.1), (0.45, 0.3)] + arc(0.5, 0.66, 0.22, 0.23, 200, 560, 20)],
    7: [[(0.25, 0.14), (0.78, 0.14), (0.45, 0.9)]],
    8: [arc(0.5, 0.3, 0.2, 0.19, 90, 450, 16) + arc(0.5, 0.7, 0.25, 0.21, -90, 270, 18)],
    9: [arc(0.5, 0.33, 0.22, 0.2, 0, 360, 18) + [(0.72, 0.4), (0.66, 0.9)]],
}


def jittered(strokes, rng: np.random.Generator) -> list[np.ndarray]:
    """The strokes under a random small affine map (scale, slant, rotation), each point
    moved a little: a different hand each time.  Points stay in the unit square's centre."""
    angle = np.radians(rng.uniform(-10, 10))
    shear = rng.uniform(-0.2, 0.2)
    sx, sy = rng.uniform(0.8, 1.15), rng.uniform(0.85, 1.1)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = rotate @ np.array([[sx, shear], [0, sy]])
    out = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64) - 0.5
        points = points @ matrix.T + rng.normal(0, 0.012, size=points.shape)
        out.append(points * 0.8 + 0.5 + rng.uniform(-0.04, 0.04, size=2))
    return out


def render(strokes, size: int = 280, pen: float = 20.0) -> np.ndarray:
    """Strokes (unit-square coordinates) drawn black on white: gray float32 (size, size)."""
    from PIL import Image, ImageDraw

    page = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(page)
    for stroke in strokes:
        points = [(float(x) * size, float(y) * size) for x, y in stroke]
        draw.line(points, fill=0, width=int(pen), joint="curve")
        r = pen / 2
        for x, y in (points[0], points[-1]):  # round pen ends, as the pad's
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return np.asarray(page, dtype=np.float32) / 255


def dataset(
    n_per_digit: int, rng: np.random.Generator, size: int = 112
) -> tuple[np.ndarray, np.ndarray]:
    """(X (N, 1, 28, 28) float32 in [0, 1] prepared as the page prepares drawings, y (N,)).
    Drawn on a ``size`` pixel page (smaller than the pad's 280: quicker, and the same after
    preprocessing), with pens as wide as 15-26 pixels of the pad."""
    images, labels = [], []
    for digit, strokes in DIGITS.items():
        for _ in range(n_per_digit):
            pen = rng.uniform(15, 26) * size / 280
            page = render(jittered(strokes, rng), size=size, pen=pen)
            images.append(preprocess_digit(page).image)
            labels.append(digit)
    return np.stack(images)[:, None], np.array(labels, dtype=np.int64)
