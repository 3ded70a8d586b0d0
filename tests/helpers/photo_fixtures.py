"""Small generated photos of a digit for the preparation tests: a pen-drawn '4', and what
real photos do to it (a lamp's gradient, a shadow, a dark desk, coloured ink, JPEG, a
transparent layer).  Each returns RGB float32 (H, W, 3) in [0, 1] unless it says otherwise."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

#: the digit's strokes in a 100x100 box: (x0, y0, x1, y1) segments of a '4'
FOUR = [(60, 5, 10, 65), (10, 65, 85, 65), (60, 5, 60, 98)]


def pen_digit(height: int = 120, width: float = 0.09) -> np.ndarray:
    """The '4' drawn with a round pen ``width`` x height wide, anti-aliased, ink = 1.

    Shape: -> (height, height)
    """
    over = 4
    canvas = Image.new("L", (height * over, height * over), 0)
    draw = ImageDraw.Draw(canvas)
    pen = max(1, round(width * height * over))
    scale = height * over / 100
    for x0, y0, x1, y1 in FOUR:
        draw.line((x0 * scale, y0 * scale, x1 * scale, y1 * scale), fill=255, width=pen)
        for x, y in ((x0, y0), (x1, y1)):
            draw.ellipse(
                (
                    x * scale - pen / 2,
                    y * scale - pen / 2,
                    x * scale + pen / 2,
                    y * scale + pen / 2,
                ),
                fill=255,
            )
    small = canvas.resize((height, height), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255


def on_paper(
    ink: np.ndarray,
    frame: tuple[int, int] = (300, 260),
    at=(80, 70),
    pen=(0.1, 0.1, 0.12),
    paper=(0.92, 0.9, 0.86),
    grain: float = 0.015,
    rng=0,
) -> np.ndarray:
    """``ink`` (coverage, (h, w)) written in ``pen`` colour on grainy paper filling a frame."""
    rng = np.random.default_rng(rng)
    h, w = frame
    photo = np.empty((h, w, 3), dtype=np.float32)
    photo[:] = paper
    photo *= 1 + grain * rng.standard_normal((h, w, 1)).astype(np.float32)
    coverage = np.zeros((h, w, 1), dtype=np.float32)
    coverage[at[0] : at[0] + ink.shape[0], at[1] : at[1] + ink.shape[1], 0] = ink
    photo = photo * (1 - coverage) + np.asarray(pen, dtype=np.float32) * coverage
    return np.clip(photo, 0, 1)


def lamp(photo: np.ndarray, darkest: float = 0.35) -> np.ndarray:
    """Light falling from the top-left corner to ``darkest`` at the bottom-right."""
    h, w = photo.shape[:2]
    rows, cols = np.mgrid[0:h, 0:w]
    light = 1 - (1 - darkest) * (rows / h + cols / w) / 2
    return (photo * light[..., None]).astype(np.float32)


def shadow(photo: np.ndarray, depth: float = 0.55, softness: float = 12.0) -> np.ndarray:
    """A soft shadow over the right part of the frame, its edge crossing the digit."""
    h, w = photo.shape[:2]
    rows, cols = np.mgrid[0:h, 0:w]
    edge = cols + 0.3 * rows - 0.55 * w
    light = 1 - depth / (1 + np.exp(-edge / softness))
    return (photo * light[..., None]).astype(np.float32)


def on_desk(
    photo: np.ndarray, margin: int = 45, desk=(0.12, 0.09, 0.07), angle: float = 0.0
) -> np.ndarray:
    """The sheet (``photo``) turned by ``angle`` degrees on a dark wooden desk that frames it
    ``margin`` pixels wide."""
    h, w = photo.shape[:2]
    big_h, big_w = h + 2 * margin, w + 2 * margin
    rows, cols = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
    turn = np.deg2rad(angle)
    cy, cx = big_h / 2, big_w / 2
    u = (cols - cx) * np.cos(turn) + (rows - cy) * np.sin(turn) + w / 2
    v = -(cols - cx) * np.sin(turn) + (rows - cy) * np.cos(turn) + h / 2
    inside = (u >= 0) & (u < w - 1) & (v >= 0) & (v < h - 1)
    grain = 1 + 0.15 * np.sin(rows / 3.0 + np.sin(cols / 40.0))
    out = np.asarray(desk, dtype=np.float32) * grain[..., None].astype(np.float32)
    out[inside] = photo[v[inside].astype(int), u[inside].astype(int)]
    return out


def jpeg(photo: np.ndarray, quality: int = 60) -> bytes:
    """The photo as JPEG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def transparent(ink: np.ndarray, colour=(255, 255, 255)) -> np.ndarray:
    """A drawing app's export: one colour, the drawing in the alpha channel.

    Shape: (h, w) -> (h, w, 4) uint8
    """
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.round(ink * 255).astype(np.uint8)
    return rgba


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A ~100-byte PNG whose header claims ``width`` x ``height`` pixels (a decompression
    bomb: it would need gigabytes once decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def overlap(a: np.ndarray, b: np.ndarray, level: float = 0.5) -> float:
    """Intersection over union of two images' ink (pixels >= level)."""
    a, b = a >= level, b >= level
    return float((a & b).sum() / max((a | b).sum(), 1))
