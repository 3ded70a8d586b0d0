"""How did the filters learn?  The first conv layer's kernels epoch by epoch, as an animated
GIF (Pillow), from the snapshots a ``Monitor`` keeps at every epoch end."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw

#: pixels of each frame's caption strip, and between filters
HEADER, GAP = 18, 3


def filter_mosaic(weight: np.ndarray, limit: float, cell: int) -> np.ndarray:
    """The kernels as one RGB picture: red = positive, blue = negative, white = 0 (one colour
    scale, ``limit``, for every frame, so changes show).  One tile per filter, 8 to a row, for
    1 or 3 input channels (3: the kernel as colours); otherwise a row per filter and a column
    per input channel.  Shape: (F, C, kh, kw) -> (H, W, 3) uint8."""
    from matplotlib import colormaps

    F, C, kh, kw = weight.shape
    scaled = np.clip(weight / limit, -1, 1)  # (F, C, kh, kw) in [-1, 1]
    if C == 3:
        tiles = (scaled.transpose(0, 2, 3, 1) + 1) / 2  # (F, kh, kw, 3) in [0, 1]
        rows, cols = math.ceil(F / 8), min(F, 8)
    else:
        tiles = colormaps["RdBu_r"]((scaled + 1) / 2)[..., :3]  # (F, C, kh, kw, 3)
        tiles = tiles.reshape(F * C, kh, kw, 3)
        rows, cols = (math.ceil(F / 8), min(F, 8)) if C == 1 else (F, C)
    height, width = rows * (kh * cell + GAP) + GAP, cols * (kw * cell + GAP) + GAP
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        big = np.kron(tile, np.ones((cell, cell, 1)))  # each weight a cell x cell
        top, left = GAP + r * (kh * cell + GAP), GAP + c * (kw * cell + GAP)
        canvas[top : top + kh * cell, left : left + kw * cell] = np.round(big * 255)
    return canvas


def filters_gif(frames: list[dict], milliseconds: int = 700) -> bytes:
    """An animated GIF, one frame per snapshot, captioned with its epoch.

    Args:
        frames: ``monitor.filters``: dicts with ``epoch``, ``layer`` and ``weight``
            (F, C_in, kh, kw) as nested lists or an array.
        milliseconds: how long each frame shows; the animation loops forever.
    """
    if not frames:
        raise ValueError("filters_gif: no filter snapshots (train with a Monitor)")
    weights = [np.asarray(f["weight"], dtype=np.float64) for f in frames]
    limit = max(float(np.abs(w).max()) for w in weights) or 1.0
    kernel = max(weights[0].shape[2:])
    cell = max(4, 48 // kernel)  # a filter tile about 48 pixels wide
    images = []
    for frame, weight in zip(frames, weights):
        mosaic = filter_mosaic(weight, limit, cell)
        text = caption(frame, limit)
        width = max(mosaic.shape[1], 200, caption_width(text) + 2 * GAP)  # the caption fits
        image = Image.new("RGB", (width, mosaic.shape[0] + HEADER), "white")
        image.paste(Image.fromarray(mosaic), (0, HEADER))
        ImageDraw.Draw(image).text((GAP, 3), text, fill=(0, 0, 0))
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=milliseconds, loop=0
    )
    return buffer.getvalue()


def caption(frame: dict, limit: float) -> str:
    """A frame's caption: its epoch, the layer, and the colour scale every frame shares."""
    return f"epoch {frame['epoch']}: {frame['layer']} (red +, blue -, darkest ±{limit:.2g})"


def caption_width(text: str) -> int:
    """Pixels the caption takes in Pillow's default font."""
    return math.ceil(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text))
