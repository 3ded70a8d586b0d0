"""Photographs of marks on paper, made with NumPy and Pillow: the scenes benchmarks/photos.py
runs ``cnn-numpy predict`` on.

A scene is built the way light makes a photo: the sheet's colour (paper texture), times the
ink that absorbs it, times the light falling on it (a lamp's fall-off, a soft shadow), around
it maybe a dark desk; then the camera: a little blur, sensor noise, 8 bits, maybe JPEG.
Every choice is drawn from an explicit ``rng``; ``Look`` holds what was drawn, so a photo
can be described and re-made.

    content (h, w) ink coverage in [0, 1]  ->  photograph(content, look, rng)  ->  uint8 RGB
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: what each condition switches on (the digit height is drawn in every one of them)
CONDITIONS = {
    "paper": dict(),  # paper texture, even light, black pen, PNG
    "lamp": dict(lamp=True),
    "shadow": dict(shadow=True),
    "desk": dict(desk=True),
    "ballpoint": dict(ink="blue"),
    "jpeg": dict(jpeg=True),
    "combined": dict(lamp=True, shadow=True, desk=True, ink="blue", jpeg=True),
    # everything at once and out of focus: the hardest photo the benchmark takes
    "combined + blur": dict(lamp=True, shadow=True, desk=True, ink="blue", jpeg=True, blur=True),
}

#: pens: the colour a photo shows on white paper (sRGB) and the line's width (share of the
#: digit's height): a felt pen, a blue ballpoint, and three held back while tuning the
#: preparation (red and green pens, a soft pencil)
PENS = {
    "black": ((0.15, 0.15, 0.17), (0.04, 0.10)),
    "blue": ((0.18, 0.25, 0.55), (0.02, 0.04)),
    "red": ((0.75, 0.18, 0.18), (0.03, 0.08)),
    "green": ((0.15, 0.50, 0.25), (0.03, 0.08)),
    "pencil": ((0.45, 0.45, 0.47), (0.02, 0.04)),
}


def linear(srgb) -> np.ndarray:
    """sRGB values (what a photo stores) to linear light (what adds and multiplies)."""
    return np.asarray(srgb, dtype=np.float32) ** 2.2


@dataclass
class Look:
    """How one photo is taken.  ``scale`` widens every random range (1 = the benchmark's,
    1.3 = harsher than what the preparation was tuned on)."""

    lamp: bool = False
    shadow: bool = False
    desk: bool = False
    ink: str = "black"
    jpeg: bool = False
    blur: bool = False  # out of focus: a blur 1-2.5% of the content's height
    scale: float = 1.0


def pen_width(look: Look, rng: np.random.Generator) -> float:
    """The line width of this photo's pen, as a share of the digit's height."""
    return uniform(rng, *PENS[look.ink][1], look.scale)


def uniform(rng: np.random.Generator, low: float, high: float, scale: float = 1.0) -> float:
    """A number in [low, high], the range widened ``scale`` times around its middle."""
    middle, half = (low + high) / 2, (high - low) / 2 * scale
    return float(rng.uniform(middle - half, middle + half))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic resize of a float (H, W) image."""
    out = Image.fromarray(image.astype(np.float32)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    return np.asarray(out, dtype=np.float32)


def smooth_field(shape: tuple[int, int], cells: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random variation, zero mean, std ~1: noise on a coarse grid, resized up."""
    coarse = rng.standard_normal((cells, max(2, round(cells * shape[1] / shape[0]))))
    field = resize(coarse.astype(np.float32), *shape)
    return (field - field.mean()) / (field.std() + 1e-6)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a float (H, W) image (separable: rows, then columns; edges repeated)."""
    if sigma <= 0:
        return image
    half = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    out = np.pad(image.astype(np.float32), half, mode="edge")
    h, w = out.shape
    out = sum(t * out[k : h - 2 * half + k] for k, t in enumerate(taps))  # rows
    out = sum(t * out[:, k : w - 2 * half + k] for k, t in enumerate(taps))  # columns
    return out


def thin(mask: np.ndarray) -> np.ndarray:
    """The centre lines of a binary shape, one pixel wide (Zhang-Suen thinning, 1984).

    Shape: (H, W) bool -> (H, W) bool
    """
    m = mask.astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            p = np.pad(m, 1)
            # the 8 neighbours, clockwise from the one above
            n = [
                p[:-2, 1:-1],
                p[:-2, 2:],
                p[1:-1, 2:],
                p[2:, 2:],
                p[2:, 1:-1],
                p[2:, :-2],
                p[1:-1, :-2],
                p[:-2, :-2],
            ]
            count = sum(n)
            rises = sum((n[i] == 0) & (n[(i + 1) % 8] == 1) for i in range(8))
            up, right, down, left = n[0], n[2], n[4], n[6]
            if step == 0:
                side = (up * right * down == 0) & (right * down * left == 0)
            else:
                side = (up * right * left == 0) & (up * down * left == 0)
            remove = (m == 1) & (count >= 2) & (count <= 6) & (rises == 1) & side
            if remove.any():
                m[remove] = 0
                changed = True
        if not changed:
            return m.astype(bool)


def pen_strokes(gray28: np.ndarray, height: int, width: float) -> np.ndarray:
    """An MNIST digit (28, 28) in [0, 1] rewritten with a pen: its centre lines (found at 4x
    MNIST's size), drawn ``height`` pixels tall (the MNIST digit is ~20 of its 28 rows) with
    a round pen ``width`` times the height wide, anti-aliased.

    Shape: (28, 28) -> (h, w) ink coverage in [0, 1]
    """
    from PIL import ImageDraw

    lines = thin(resize(gray28, 112, 112) > 0.5)
    side = height * 28 // 20
    over = 4  # drawn 4x larger, then shrunk
    step = side * over / 112  # canvas pixels per line pixel
    canvas = Image.new("L", (side * over, side * over), 0)
    draw = ImageDraw.Draw(canvas)
    pen = max(1.2, width * height) * over
    rows, cols = np.nonzero(lines)
    points = {(r, c) for r, c in zip(rows.tolist(), cols.tolist())}
    for r, c in points:
        y, x = (r + 0.5) * step, (c + 0.5) * step
        draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
        for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):  # join to the next line pixels
            if (r + dr, c + dc) in points:
                draw.line((x, y, x + dc * step, y + dr * step), fill=255, width=round(pen))
    small = canvas.resize((side, side), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def paper(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """Sheet colour (H, W, 3): tinted white, mottled, with fine grain."""
    h, w = shape
    base = linear(uniform(rng, 0.82, 0.96, scale))
    tint = np.array([1.0, uniform(rng, 0.97, 1.0), uniform(rng, 0.90, 1.0)], dtype=np.float32)
    mottle = uniform(rng, 0.005, 0.03, scale) * smooth_field(shape, int(rng.integers(6, 20)), rng)
    grain = uniform(rng, 0.004, 0.02, scale) * rng.standard_normal((h, w)).astype(np.float32)
    return np.clip(base * tint * (1 + mottle + grain)[..., None], 0, 1)


def desk(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """A dark desk (H, W, 3): wood-like grain along a random direction."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    along = rows * np.cos(angle) + cols * np.sin(angle)
    wobble = 8 * smooth_field(shape, 5, rng)
    grain = np.sin((along + wobble) / uniform(rng, 3, 12) * 2 * np.pi)
    level = linear(uniform(rng, 0.12, 0.40, scale))
    colour = np.array([1.0, uniform(rng, 0.6, 0.95), uniform(rng, 0.35, 0.9)], dtype=np.float32)
    value = level * (
        1 + uniform(rng, 0.05, 0.25, scale) * grain + 0.05 * smooth_field(shape, 12, rng)
    )
    return np.clip(value[..., None] * colour, 0, 1)


def sheet_mask(
    shape: tuple[int, int], fraction: float, rng: np.random.Generator, scale: float
) -> np.ndarray:
    """(H, W) in [0, 1]: a slightly turned rectangle covering ``fraction`` of the frame."""
    h, w = shape
    aspect = uniform(rng, 0.85, 1.15, scale)
    sheet_h = np.sqrt(fraction * h * w / aspect * h / w)
    sheet_w = fraction * h * w / sheet_h
    angle = np.deg2rad(uniform(rng, -10, 10, scale))
    cy = h / 2 + uniform(rng, -0.5, 0.5) * max(0.0, h - sheet_h) * 0.8
    cx = w / 2 + uniform(rng, -0.5, 0.5) * max(0.0, w - sheet_w) * 0.8
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (cols - cx) * np.cos(angle) + (rows - cy) * np.sin(angle)
    v = -(cols - cx) * np.sin(angle) + (rows - cy) * np.cos(angle)
    inside = np.minimum(sheet_w / 2 - np.abs(u), sheet_h / 2 - np.abs(v))  # px to the edge
    return np.clip(inside + 0.5, 0, 1).astype(np.float32)


def lamp(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """(H, W) light falling off from a lamp to one side (1 at its brightest)."""
    h, w = shape
    size = max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    cy, cx = h / 2 + 0.8 * size * np.sin(angle), w / 2 + 0.8 * size * np.cos(angle)
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    distance = np.hypot(rows - cy, cols - cx) / size
    light = 1 / (1 + (distance / uniform(rng, 0.35, 0.7)) ** 2)  # inverse-square-like
    darkest = uniform(rng, 0.2, 0.55, scale)  # far side vs near side
    light = (light - light.min()) / (light.max() - light.min() + 1e-6)
    return (darkest + (1 - darkest) * light).astype(np.float32)


def shadow(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """(H, W) a soft shadow (a hand, a phone) over one side of a line across the frame."""
    h, w = shape
    angle = rng.uniform(0, 2 * np.pi)
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    offset = uniform(rng, -0.3, 0.3) * min(h, w)
    side = (cols - w / 2) * np.cos(angle) + (rows - h / 2) * np.sin(angle) - offset
    softness = uniform(rng, 0.02, 0.12, scale) * max(h, w)
    depth = min(0.9, uniform(rng, 0.4, 0.7, scale))
    return (1 - depth / (1 + np.exp(-side / softness))).astype(np.float32)


def place(content: np.ndarray, shape: tuple[int, int], centre: tuple[float, float]) -> np.ndarray:
    """``content`` pasted into a zero (H, W) field with its centre at ``centre``."""
    out = np.zeros(shape, dtype=np.float32)
    ch, cw = content.shape
    top, left = int(round(centre[0] - ch / 2)), int(round(centre[1] - cw / 2))
    r0, c0 = max(0, -top), max(0, -left)
    r1, c1 = min(ch, shape[0] - top), min(cw, shape[1] - left)
    if r1 > r0 and c1 > c0:
        out[top + r0 : top + r1, left + c0 : left + c1] = content[r0:r1, c0:c1]
    return out


def photograph(
    content: np.ndarray, look: Look, rng: np.random.Generator, content_height: int | None = None
) -> np.ndarray:
    """A photo (H, W, 3) uint8 of ``content`` (ink coverage, (h, w) in [0, 1]) drawn on a
    sheet.  The content takes 25-60% of the frame's height."""
    s = look.scale
    h_content = content_height or content.shape[0]
    frame_h = int(h_content / uniform(rng, 0.25, 0.6))
    frame_w = int(frame_h * rng.choice([0.75, 1.0, 4 / 3]))
    shape = (frame_h, max(frame_w, content.shape[1] + 8))
    sheet = paper(shape, rng, s)
    centre = (shape[0] / 2, shape[1] / 2)
    if look.desk:
        mask = sheet_mask(shape, uniform(rng, 0.55, 0.85), rng, s)
        rows, cols = np.nonzero(mask > 0.99)
        centre = (
            rows.mean() + uniform(rng, -0.1, 0.1) * np.ptp(rows),
            cols.mean() + uniform(rng, -0.1, 0.1) * np.ptp(cols),
        )
    coverage = place(content, shape, centre)
    opacity = uniform(rng, 0.85, 1.0) * (1 - 0.05 * np.abs(smooth_field(shape, 12, rng)))
    coverage = np.clip(coverage * opacity, 0, 1)[..., None]
    ink = np.clip(linear(PENS[look.ink][0]) * uniform(rng, 0.7, 1.3), 0, 1)  # what it reflects
    scene = sheet * (1 - coverage * (1 - ink))
    if look.desk:
        dropped = 1 - 0.35 * blur(mask, 0.01 * max(shape)) * (1 - mask)  # the sheet's shadow
        scene = scene * mask[..., None] + desk(shape, rng, s) * (dropped * (1 - mask))[..., None]
    light = np.full(shape, uniform(rng, 0.85, 1.1), dtype=np.float32)
    if look.lamp:
        light = light * lamp(shape, rng, s)
    if look.shadow:
        light = light * shadow(shape, rng, s)
    warm = np.array([1.0, 0.97, uniform(rng, 0.85, 1.0)], dtype=np.float32) if look.lamp else 1
    scene = scene * light[..., None] * warm
    radius = uniform(rng, 0.01, 0.025, s) * h_content if look.blur else None
    return camera(scene, rng, s, radius)


def camera(
    scene: np.ndarray, rng: np.random.Generator, scale: float = 1.0, radius: float | None = None
) -> np.ndarray:
    """Lens blur (``radius`` px, default 0.3-1.2), sensor noise (more in the dark), gamma,
    8 bits."""
    radius = uniform(rng, 0.3, 1.2, scale) if radius is None else radius
    scene = np.stack([blur(scene[..., c], radius) for c in range(3)], axis=-1)
    noise = uniform(rng, 0.003, 0.012, scale)
    scene = scene + noise * np.sqrt(np.clip(scene, 0.01, 1)) * rng.standard_normal(scene.shape)
    encoded = np.clip(scene, 0, 1) ** (1 / 2.2)  # sRGB-like gamma
    return np.round(encoded * 255).astype(np.uint8)


def encode(photo: np.ndarray, look: Look, rng: np.random.Generator) -> tuple[bytes, str]:
    """The photo as file bytes and its suffix: JPEG at quality 60-90, else PNG."""
    buffer = io.BytesIO()
    if look.jpeg:
        quality = int(round(uniform(rng, 60, 90, look.scale)))
        Image.fromarray(photo).save(buffer, "JPEG", quality=max(30, min(95, quality)))
        return buffer.getvalue(), ".jpg"
    Image.fromarray(photo).save(buffer, "PNG")
    return buffer.getvalue(), ".png"
