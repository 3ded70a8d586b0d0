"""What benchmarks/photos.py photographs: MNIST test digits rewritten with a pen, and things
that are not digits (Fashion-MNIST items drawn on paper, letters from a font, handwritten
letters, noise, smooth textures, scribbles, doodles).  Each maker returns an encoded image
file (bytes) and its suffix.  The handwritten letters and the doodles are drawn with a pen
model of their own (photo_handwriting.py), not the digits' stroke generator."""

from __future__ import annotations

import glob
import io
import string

import numpy as np
from photo_handwriting import DIGIT_SHAPED, doodle, handwritten_letter
from photo_scenes import (
    CONDITIONS,
    Look,
    camera,
    encode,
    pen_strokes,
    pen_width,
    photograph,
    resize,
    smooth_field,
    uniform,
)
from PIL import Image, ImageDraw, ImageFont

#: the kinds of non-digits, each a maker below
NON_DIGITS = (
    "fashion",
    "letters",
    "handwriting",
    "noise",
    "textures",
    "scribbles",
    "doodles",
)
#: the printed letters: A-Z and a-z but those shaped like a digit (photo_handwriting.py)
LETTERS = "".join(c for c in string.ascii_letters if c not in DIGIT_SHAPED)


def digit_photo(gray28: np.ndarray, look: Look, rng: np.random.Generator) -> tuple[bytes, str]:
    """A photo of an MNIST digit rewritten with a pen, 110-300 px tall."""
    height = int(rng.integers(110, 301))
    content = pen_strokes(gray28, height, pen_width(look, rng))
    return encode(photograph(content, look, rng, content_height=height), look, rng)


def random_look(rng: np.random.Generator, scale: float = 1.0) -> Look:
    """The look of one of the benchmark's conditions, drawn at random."""
    name = list(CONDITIONS)[int(rng.integers(len(CONDITIONS)))]
    return Look(**CONDITIONS[name], scale=scale)


def fashion_photo(item28: np.ndarray, rng: np.random.Generator, scale: float = 1.0):
    """A Fashion-MNIST item drawn (shaded) on paper: its 28x28 picture as ink coverage."""
    look = random_look(rng, scale)
    height = int(rng.integers(110, 301))
    content = np.clip(resize(item28, height, height), 0, 1) * uniform(rng, 0.7, 1.0)
    return encode(photograph(content, look, rng), look, rng)


def fonts() -> list[str]:
    """The TrueType fonts of this machine (none: Pillow's own)."""
    return sorted(glob.glob("/usr/share/fonts/truetype/*/*.ttf"))


def letter_photo(rng: np.random.Generator, scale: float = 1.0, letter: str | None = None):
    """A letter of ``LETTERS`` (or the given one) in a random font, printed or traced on
    paper."""
    look = random_look(rng, scale)
    height = int(rng.integers(110, 301))
    letter = LETTERS[int(rng.integers(len(LETTERS)))] if letter is None else letter
    available = fonts()
    if available:
        font = ImageFont.truetype(available[int(rng.integers(len(available)))], height)
    else:
        font = ImageFont.load_default(size=height)
    canvas = Image.new("L", (height * 2, height * 2), 0)
    ImageDraw.Draw(canvas).text((height // 2, height // 4), letter, fill=255, font=font)
    ink = np.asarray(canvas, dtype=np.float32) / 255
    rows, cols = np.nonzero(ink > 0.1)
    content = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return encode(photograph(content, look, rng, content_height=height), look, rng)


def noise_photo(rng: np.random.Generator, scale: float = 1.0):
    """Pixel noise: uniform, Gaussian, salt and pepper or coloured, 100-600 px."""
    h, w = int(rng.integers(100, 601)), int(rng.integers(100, 601))
    kind = int(rng.integers(4))
    if kind == 0:
        pixels = rng.uniform(0, 1, (h, w, 1)).repeat(3, axis=2)
    elif kind == 1:
        pixels = np.clip(rng.normal(rng.uniform(0.3, 0.7), 0.2, (h, w, 1)), 0, 1).repeat(3, 2)
    elif kind == 2:
        pixels = (rng.random((h, w, 1)) < rng.uniform(0.02, 0.3)).astype(float).repeat(3, 2)
        if rng.random() < 0.5:
            pixels = 1 - pixels
    else:
        pixels = rng.uniform(0, 1, (h, w, 3))
    return png((pixels * 255).astype(np.uint8))


def texture_photo(rng: np.random.Generator, scale: float = 1.0):
    """A smooth random picture (clouds, blurred colour fields), like an out-of-focus photo."""
    h, w = int(rng.integers(150, 601)), int(rng.integers(150, 601))
    channels = []
    for _ in range(3):
        field = sum(
            smooth_field((h, w), cells, rng) / (1 + k)
            for k, cells in enumerate(rng.integers(2, 12, size=3))
        )
        channels.append(field)
    pixels = np.stack(channels, axis=-1)
    if rng.random() < 0.5:  # gray
        pixels = pixels.mean(axis=-1, keepdims=True).repeat(3, axis=-1)
    pixels = (pixels - pixels.min()) / (np.ptp(pixels) + 1e-6)
    low, high = sorted(rng.uniform(0, 1, 2))
    scene = (low + (high - low + 0.2) * pixels).clip(0, 1) ** 2.2
    return png(camera(scene.astype(np.float32), rng, scale))


def scribble_photo(rng: np.random.Generator, scale: float = 1.0):
    """One to three random pen strokes (smooth curves through random points) on paper."""
    look = random_look(rng, scale)
    height = int(rng.integers(110, 301))
    over = 4
    canvas = Image.new("L", (height * over, height * over), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(2, round(pen_width(look, rng) * height * over))
    for _ in range(int(rng.integers(1, 4))):
        anchors = rng.uniform(0.05, 0.95, (int(rng.integers(4, 9)), 2)) * height * over
        t = np.linspace(0, 1, 200)
        # a Catmull-Rom-like smooth path: resample the anchors with cubic interpolation
        index = t * (len(anchors) - 1)
        k = np.minimum(index.astype(int), len(anchors) - 2)
        frac = (index - k)[:, None]
        weight = frac * frac * (3 - 2 * frac)
        path = anchors[k] * (1 - weight) + anchors[k + 1] * weight
        draw.line([tuple(p) for p in path], fill=255, width=width, joint="curve")
    content = (
        np.asarray(canvas.resize((height, height), Image.Resampling.BOX), dtype=np.float32) / 255
    )
    return encode(photograph(content, look, rng), look, rng)


def handwriting_photo(rng: np.random.Generator, scale: float = 1.0, letter: str | None = None):
    """A handwritten letter (photo_handwriting.LETTERS, or the given one) on paper, 110-300
    px tall."""
    look = random_look(rng, scale)
    height = int(rng.integers(110, 301))
    content = handwritten_letter(rng, height, pen_width(look, rng), letter)
    return encode(photograph(content, look, rng, content_height=height), look, rng)


def doodle_photo(rng: np.random.Generator, scale: float = 1.0):
    """A doodle (photo_handwriting.doodle) on paper, 110-300 px across."""
    look = random_look(rng, scale)
    height = int(rng.integers(110, 301))
    content = doodle(rng, height, pen_width(look, rng))
    return encode(photograph(content, look, rng, content_height=height), look, rng)


def png(pixels: np.ndarray) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue(), ".png"


def non_digit_photo(
    kind: str, rng: np.random.Generator, fashion_items: np.ndarray, scale: float = 1.0
) -> tuple[bytes, str]:
    """A photo of one non-digit of ``kind`` (one of NON_DIGITS)."""
    if kind == "fashion":
        return fashion_photo(fashion_items[int(rng.integers(len(fashion_items)))], rng, scale)
    makers = {
        "letters": letter_photo,
        "handwriting": handwriting_photo,
        "noise": noise_photo,
        "textures": texture_photo,
        "scribbles": scribble_photo,
        "doodles": doodle_photo,
    }
    return makers[kind](rng, scale)
