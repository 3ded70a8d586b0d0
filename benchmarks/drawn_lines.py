"""Does the model of `cnn-numpy train` (the lines) know the lines a learner draws on the page?

Trains the default command's model (the seed net on 480 synthetic lines, its novelty check
fitted) for each ``--seeds``, then asks it about shapes drawn as the live page's pad draws
them (a round pen 20 pixels wide on a 280x280 white canvas, cropped and centred by
``preprocess_digit`` as the page does), made from ``--draw-seed``, a seed the lines'
generator never saw:

* lines: vertical and horizontal strokes 80-240 pixels long, up to 6 degrees off, a little
  wobble, anywhere on the pad: each should be answered, and rightly; short lines, 30-80
  pixels (the page scales them up, so they come out 5-8 pixels wide): the same;
* things that are not lines: diagonals (25-65 degrees), crosses, loops, corners, scribbles
  and, with ``--data-dir``, MNIST test digits: each should be refused ("not one of its
  classes").

    python benchmarks/drawn_lines.py [--seeds 0 1 2] [--per-kind 100] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import cnn_numpy as cnn
from cnn_numpy.tools.cli import main as cli
from cnn_numpy.tools.photos.images import preprocess_digit

PAD, PEN = 280, 20  # the page's pad and pen (tools/live/static/pad.js)


def stroke(draw: ImageDraw.ImageDraw, points: np.ndarray) -> None:
    """A pen stroke through ``points`` (k, 2), with round ends and joints, as the pad draws."""
    xy = [tuple(p) for p in points.round(1).tolist()]
    draw.line(xy, fill=0, width=PEN, joint="curve")
    for x, y in (xy[0], xy[-1]):
        draw.ellipse([x - PEN / 2, y - PEN / 2, x + PEN / 2, y + PEN / 2], fill=0)


def wobbly(rng, start, end, wobble: float = 2.0, pieces: int = 8) -> np.ndarray:
    """Points from ``start`` to ``end`` with a hand's wobble across the way."""
    t = np.linspace(0, 1, pieces + 1)[:, None]
    points = np.asarray(start) * (1 - t) + np.asarray(end) * t
    way = np.asarray(end, float) - start
    normal = np.array([-way[1], way[0]]) / max(np.hypot(*way), 1e-9)
    return points + rng.normal(0, wobble, size=(pieces + 1, 1)) * normal


def line(rng, label: int, lengths=(80, 240)) -> list[np.ndarray]:
    """A vertical (0) or horizontal (1) stroke, up to 6 degrees off, anywhere on the pad."""
    length = rng.uniform(*lengths)
    angle = np.deg2rad(rng.uniform(-6, 6)) + (np.pi / 2 if label == 0 else 0)
    half = 0.5 * length * np.array([np.cos(angle), np.sin(angle)])
    margin = np.abs(half) + PEN / 2 + 4
    centre = rng.uniform(margin, PAD - margin)
    return [wobbly(rng, centre - half, centre + half)]


def diagonal(rng) -> list[np.ndarray]:
    length, angle = rng.uniform(120, 260), np.deg2rad(rng.uniform(25, 65) * rng.choice([-1, 1]))
    half = 0.5 * length * np.array([np.cos(angle), np.sin(angle)])
    return [wobbly(rng, PAD / 2 - half, PAD / 2 + half)]


def cross(rng) -> list[np.ndarray]:
    turn = rng.choice([0.0, 45.0]) + rng.uniform(-8, 8)
    strokes = []
    for extra in (0.0, 90.0):
        angle, length = np.deg2rad(turn + extra), rng.uniform(140, 240)
        half = 0.5 * length * np.array([np.cos(angle), np.sin(angle)])
        strokes.append(wobbly(rng, PAD / 2 - half, PAD / 2 + half))
    return strokes


def loop(rng) -> list[np.ndarray]:
    t = np.linspace(0, 2 * np.pi, 40)
    a, b = rng.uniform(50, 110, size=2)
    points = np.stack([PAD / 2 + a * np.cos(t), PAD / 2 + b * np.sin(t)], axis=1)
    return [points + rng.normal(0, 2, points.shape)]


def corner(rng) -> list[np.ndarray]:
    a, b = rng.uniform(90, 200, size=2)
    sx, sy = rng.choice([-1, 1], size=2)
    c = np.array([PAD / 2 - sx * a / 2, PAD / 2 - sy * b / 2])
    return [np.concatenate([wobbly(rng, c + [sx * a, 0], c), wobbly(rng, c, c + [0, sy * b])])]


def scribble(rng) -> list[np.ndarray]:
    points = rng.uniform(50, PAD - 50, size=(rng.integers(4, 8), 2))
    return [points]


#: the shapes that are not lines, each drawn as a list of strokes
SHAPES = {
    "diagonal": diagonal,
    "cross": cross,
    "loop": loop,
    "corner": corner,
    "scribble": scribble,
}


def on_pad(strokes: list[np.ndarray]) -> np.ndarray:
    """The 28x28 model input the page makes of these strokes."""
    canvas = Image.new("L", (PAD, PAD), 255)
    draw = ImageDraw.Draw(canvas)
    for points in strokes:
        stroke(draw, points)
    return preprocess_digit(np.asarray(canvas, dtype=np.float32) / 255).image[None]


def drawn_sets(seed: int, per_kind: int, data_dir: str | None) -> dict[str, tuple]:
    """{kind: (images (N, 1, 28, 28), labels or None)}: lines with labels, the rest without."""
    rng = np.random.default_rng(seed)
    labels = np.arange(per_kind) % 2
    sets = {"lines": (np.stack([on_pad(line(rng, int(k))) for k in labels]), labels)}
    short = [on_pad(line(rng, int(k), lengths=(30, 80))) for k in labels]
    sets["short lines"] = (np.stack(short), labels)
    for kind, shape in SHAPES.items():
        sets[kind] = (np.stack([on_pad(shape(rng)) for _ in range(per_kind)]), None)
    if data_dir:
        (_, _), (X, _) = cnn.load_mnist(root=data_dir, download=False)
        picked = rng.choice(len(X), size=per_kind, replace=False)
        sets["MNIST digits"] = (X[picked], None)
    return sets


def trained(seed: int, folder: Path) -> str:
    """The model file of ``cnn-numpy train --seed SEED`` (its output kept quiet)."""
    out = folder / f"seed{seed}"
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli(["train", "--seed", str(seed), "--out", str(out), "--no-report"])
    if code:
        sys.exit(f"error: cnn-numpy train --seed {seed} failed")
    return str(out / "model.npz")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--per-kind", type=int, default=100)
    p.add_argument("--draw-seed", type=int, default=2026)
    p.add_argument("--data-dir", default=None, help="MNIST's folder, for digits to refuse")
    args = p.parse_args(argv)
    sets = drawn_sets(args.draw_seed, args.per_kind, args.data_dir)
    print(
        f"{args.per_kind} drawings a kind (draw seed {args.draw_seed}); lines: share answered "
        "rightly, the others: share refused"
    )
    print(f"{'seed':>4} | " + " | ".join(f"{kind:>12}" for kind in sets))
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            path = trained(seed, Path(folder))
            model, novelty = cnn.load(path), cnn.load_novelty(path)
            cells = []
            for X, y in sets.values():
                answer = cnn.predict_with_novelty(model, X, novelty)
                good = (
                    ~answer.refused & (answer.predicted == y) if y is not None else answer.refused
                )
                cells.append(f"{good.mean():12.1%}")
            print(f"{seed:>4} | " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
