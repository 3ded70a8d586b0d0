"""Handwritten letters and scribbles for benchmarks/photos.py, drawn with a pen model unlike
the digits': the digits are MNIST's own strokes (thinned) retraced with a round pen of one
width; these are vector strokes (a letter's ductus, or a random doodle) through jittered
control points, smoothed by a Catmull-Rom spline, slanted, and drawn with a pen whose width
follows the pressure along the stroke (thin at the ends, swelling in the middle, wobbling),
as a fountain pen or a felt tip held by a hand.

    strokes (unit box, y down) -> hand(): slant, jitter -> spline -> pressure pen -> ink

Each maker returns ink coverage (h, w) in [0, 1]; photo_subjects.py photographs it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def arc(cx, cy, rx, ry, start, end, points=9):
    """Points along an ellipse's arc, angles in degrees (0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, end, points))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


#: the letters whose shape, once prepared as MNIST's digits are, is a digit's: O o are a 0,
#: I i l a 1, Z z a 2, S s a 5, g q a 9.  No check can refuse them without refusing the
#: digits, so neither kind of letters draws them (benchmarks/letters_by_letter.py shows how
#: the default model answers every letter, these included)
DIGIT_SHAPED = "OoIilZzSsgq"

#: each letter as the strokes a hand draws, in a unit box (x right, y down; lowercase
#: letters use the box's lower part, ascenders and descenders reach out of it)
LETTERS = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "B": [
        [(0.2, 1), (0.2, 0)],
        [(0.2, 0), *arc(0.45, 0.25, 0.3, 0.25, -90, 90), (0.2, 0.5)],
        [(0.2, 0.5), *arc(0.48, 0.75, 0.34, 0.25, -90, 90), (0.2, 1)],
    ],
    "C": [arc(0.55, 0.5, 0.42, 0.5, -45, -315, 13)],
    "D": [[(0.2, 0), (0.2, 1)], [(0.2, 0), *arc(0.35, 0.5, 0.5, 0.5, -70, 70, 11), (0.2, 1)]],
    "E": [[(0.8, 0), (0.2, 0), (0.2, 1), (0.8, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "F": [[(0.8, 0), (0.2, 0), (0.2, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "G": [[*arc(0.55, 0.5, 0.42, 0.5, -45, -345, 13), (0.55, 0.55)]],
    "H": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.8, 1)], [(0.2, 0.5), (0.8, 0.5)]],
    "J": [[(0.3, 0), (0.8, 0)], [(0.65, 0), (0.65, 0.75), *arc(0.4, 0.75, 0.25, 0.25, 0, 150)]],
    "K": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.2, 0.6)], [(0.38, 0.48), (0.85, 1)]],
    "L": [[(0.2, 0), (0.2, 1), (0.8, 1)]],
    "M": [[(0.1, 1), (0.15, 0), (0.5, 0.65), (0.85, 0), (0.9, 1)]],
    "N": [[(0.2, 1), (0.2, 0), (0.8, 1), (0.8, 0)]],
    "P": [[(0.2, 1), (0.2, 0)], [(0.2, 0), *arc(0.45, 0.27, 0.32, 0.27, -90, 90), (0.2, 0.54)]],
    "Q": [arc(0.5, 0.48, 0.4, 0.48, -90, 270, 17), [(0.55, 0.7), (0.9, 1.05)]],
    "R": [
        [(0.2, 1), (0.2, 0)],
        [(0.2, 0), *arc(0.45, 0.27, 0.32, 0.27, -90, 90), (0.2, 0.54)],
        [(0.4, 0.54), (0.85, 1)],
    ],
    "T": [[(0.1, 0), (0.9, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0.2, 0), (0.2, 0.65), *arc(0.5, 0.65, 0.3, 0.35, 180, 0), (0.8, 0)]],
    "V": [[(0.1, 0), (0.5, 1), (0.9, 0)]],
    "W": [[(0.05, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (0.95, 0)]],
    "X": [[(0.15, 0), (0.85, 1)], [(0.85, 0), (0.15, 1)]],
    "Y": [[(0.15, 0), (0.5, 0.5), (0.85, 0)], [(0.5, 0.5), (0.5, 1)]],
    "a": [[*arc(0.45, 0.72, 0.3, 0.28, -20, -340, 11)], [(0.75, 0.45), (0.75, 1)]],
    "b": [[(0.2, 0), (0.2, 1)], arc(0.45, 0.75, 0.27, 0.25, 180, -180, 13)],
    "d": [[(0.8, 0), (0.8, 1)], arc(0.55, 0.75, 0.27, 0.25, 0, 360, 13)],
    "e": [[(0.2, 0.72), (0.8, 0.72), *arc(0.5, 0.72, 0.3, 0.28, -20, -320, 11)]],
    "f": [[*arc(0.6, 0.2, 0.2, 0.2, -20, -180, 7), (0.4, 1)], [(0.15, 0.45), (0.7, 0.45)]],
    "h": [[(0.2, 0), (0.2, 1)], [(0.2, 0.7), *arc(0.5, 0.7, 0.3, 0.22, 180, 360), (0.8, 1)]],
    "k": [[(0.2, 0), (0.2, 1)], [(0.75, 0.45), (0.2, 0.78)], [(0.35, 0.7), (0.8, 1)]],
    "m": [
        [(0.1, 1), (0.1, 0.5)],
        [(0.1, 0.65), *arc(0.3, 0.65, 0.2, 0.15, 180, 360), (0.5, 1)],
        [(0.5, 0.65), *arc(0.7, 0.65, 0.2, 0.15, 180, 360), (0.9, 1)],
    ],
    "n": [[(0.2, 1), (0.2, 0.5)], [(0.2, 0.7), *arc(0.5, 0.7, 0.3, 0.2, 180, 360), (0.8, 1)]],
    "r": [[(0.25, 1), (0.25, 0.5)], [(0.25, 0.72), *arc(0.55, 0.72, 0.3, 0.2, 180, 300, 5)]],
    "t": [
        [(0.45, 0.1), (0.45, 0.9), *arc(0.62, 0.9, 0.17, 0.1, 180, 60, 5)],
        [(0.15, 0.4), (0.75, 0.4)],
    ],
    "u": [
        [(0.2, 0.5), (0.2, 0.8), *arc(0.48, 0.8, 0.28, 0.2, 180, 0, 7), (0.76, 0.5)],
        [(0.76, 0.5), (0.8, 1)],
    ],
    "v": [[(0.15, 0.5), (0.5, 1), (0.85, 0.5)]],
    "w": [[(0.05, 0.5), (0.25, 1), (0.5, 0.6), (0.75, 1), (0.95, 0.5)]],
    "x": [[(0.2, 0.5), (0.8, 1)], [(0.8, 0.5), (0.2, 1)]],
    "y": [[(0.2, 0.5), (0.5, 0.95)], [(0.8, 0.5), (0.4, 1.3), (0.2, 1.35)]],
    "z": [[(0.2, 0.5), (0.8, 0.5), (0.2, 1), (0.8, 1)]],
}


def spline(points: np.ndarray, samples: int) -> np.ndarray:
    """A Catmull-Rom curve through ``points`` (K, 2), ``samples`` points along it."""
    p = np.concatenate([points[:1], points, points[-1:]])  # ends repeated
    t = np.linspace(0, len(points) - 1, samples)
    k = np.minimum(t.astype(int), len(points) - 2)
    u = (t - k)[:, None]
    p0, p1, p2, p3 = p[k], p[k + 1], p[k + 2], p[k + 3]
    return 0.5 * (
        2 * p1
        + (p2 - p0) * u
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2
        + (3 * p1 - p0 - 3 * p2 + p3) * u**3
    )


def hand(strokes, rng: np.random.Generator, jitter: float = 0.035) -> list[np.ndarray]:
    """The strokes as one hand writes them: each control point moved a little, the whole
    slanted, turned and squashed at random.  [(K, 2)] -> [(K, 2)]"""
    slant = rng.uniform(-0.35, 0.25)
    angle = np.deg2rad(rng.uniform(-8, 8))
    aspect = rng.uniform(0.75, 1.25)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    out = []
    for stroke in strokes:
        p = np.asarray(stroke, dtype=np.float64)
        p = p + rng.normal(0, jitter, p.shape)
        p[:, 0] = (p[:, 0] + slant * (1 - p[:, 1])) * aspect
        out.append(p @ turn.T)
    return out


def pressure_pen(
    strokes: list[np.ndarray], height: int, width: float, rng: np.random.Generator
) -> np.ndarray:
    """Ink coverage (h, w) of ``strokes`` drawn ``height`` px tall with a pen ``width`` x
    height wide at full pressure: each stroke a spline, its width rising from the ends
    (0.35 x) to the middle and wobbling along the way; anti-aliased by drawing 4x larger."""
    over = 4
    curves = [spline(s, max(40, 25 * len(s))) for s in strokes]
    allpts = np.concatenate(curves)
    low, span = allpts.min(axis=0), np.ptp(allpts, axis=0).max() + 1e-9
    size = height * over
    pen = max(1.5, width * height) * over
    margin = pen
    side = np.ceil((np.ptp(allpts, axis=0) / span) * size + 2 * margin).astype(int) + 1
    canvas = Image.new("L", (int(side[0]), int(side[1])), 0)
    draw = ImageDraw.Draw(canvas)
    for curve in curves:
        xy = (curve - low) / span * size + margin
        n = len(xy)
        t = np.linspace(0, 1, n)
        wobble = 1 + 0.15 * np.sin(2 * np.pi * (rng.uniform(1, 3) * t + rng.uniform()))
        radius = pen / 2 * (0.35 + 0.65 * np.sin(np.pi * t) ** 0.4) * wobble
        # dense dabs: fill gaps between samples wider than a quarter of the pen
        steps = np.hypot(*np.diff(xy, axis=0).T)
        for i in range(n):
            x, y, r = xy[i, 0], xy[i, 1], radius[i]
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
            if i + 1 < n and steps[i] > r / 2:
                pieces = int(steps[i] // (r / 2)) + 1
                for f in np.linspace(0, 1, pieces + 1)[1:-1]:
                    cx, cy = xy[i] + f * (xy[i + 1] - xy[i])
                    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    small = canvas.resize(
        (max(1, canvas.width // over), max(1, canvas.height // over)), Image.Resampling.BOX
    )
    return np.asarray(small, dtype=np.float32) / 255.0


def handwritten_letter(
    rng: np.random.Generator, height: int, width: float, letter: str | None = None
) -> np.ndarray:
    """One letter of ``LETTERS`` (not ``DIGIT_SHAPED``), written by hand, or the given
    ``letter``.  -> (h, w) ink coverage"""
    names = sorted(set(LETTERS) - set(DIGIT_SHAPED))
    letter = names[int(rng.integers(len(names)))] if letter is None else letter
    strokes = hand(LETTERS[letter], rng)
    return pressure_pen(strokes, height, width, rng)


def doodle(rng: np.random.Generator, height: int, width: float) -> np.ndarray:
    """A scribble of one of four kinds: a wandering line whose curvature drifts, a zigzag
    (hatching, a crossing-out), a coil of loops, or a few short dashes and ticks."""
    kind = int(rng.integers(4))
    if kind == 0:  # a wandering line: heading changes by a smoothly drifting turn rate
        steps = int(rng.integers(12, 30))
        heading, turn = rng.uniform(0, 2 * np.pi), 0.0
        points = [np.zeros(2)]
        for _ in range(steps):
            turn = 0.7 * turn + rng.normal(0, 0.6)
            heading += turn
            points.append(points[-1] + 0.12 * np.array([np.cos(heading), np.sin(heading)]))
        strokes = [np.array(points)]
    elif kind == 1:  # a zigzag, back and forth across a band
        teeth = int(rng.integers(3, 9))
        x = np.linspace(0, 1, teeth * 2)
        y = np.where(np.arange(teeth * 2) % 2 == 0, 0.0, rng.uniform(0.3, 1.0))
        y = y + rng.normal(0, 0.05, len(y))
        strokes = [np.stack([x, y], axis=1)]
    elif kind == 2:  # a coil: loops moving sideways
        loops = rng.uniform(2, 5)
        t = np.linspace(0, loops * 2 * np.pi, int(loops * 10))
        r = rng.uniform(0.15, 0.35)
        strokes = [np.stack([t / (2 * np.pi) * 0.3 + r * np.cos(t), r * np.sin(t)], axis=1)]
    else:  # dashes and ticks scattered over a square
        strokes = []
        for _ in range(int(rng.integers(3, 7))):
            start = rng.uniform(0, 1, 2)
            angle = rng.uniform(0, 2 * np.pi)
            end = start + rng.uniform(0.15, 0.4) * np.array([np.cos(angle), np.sin(angle)])
            strokes.append(np.stack([start, (start + end) / 2, end]))
    return pressure_pen(hand(strokes, rng, jitter=0.01), height, width, rng)
