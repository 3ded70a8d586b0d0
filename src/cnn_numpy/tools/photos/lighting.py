"""Uneven light, flattened: how bright would the paper be at every point if nothing were
written on it?  Divide that out, and a lamp's fall-off, a shadow across the page and a
warm or cold light all become the same white.

    photo = paper colour x light  x (1 - ink)       (ink absorbs a share of the light)
    background = closing(photo)                     (the strokes removed: see morphology.py)
    photo / background = 1 - ink                    (the light and the paper's colour cancel)

A stroke is thin; the window of the closing is a sixth of the picture, wider than any pen
stroke, so the closing fills the strokes in with the paper around them, while a shadow or
the dark desk around a sheet, wider than the window, stays in the background and is
divided out too.  Light ink on a dark ground (chalk, a screen, MNIST itself) is the same
with the roles of dark and light swapped: an opening instead of a closing.

The background is smooth, so it is estimated on a copy a few times smaller (the closing's
window is then ~16 pixels there) and enlarged again: a few milliseconds for any photo.
"""

from __future__ import annotations

import numpy as np

from .morphology import box_blur, closing, odd, opening

#: the closing's window, as a fraction of the picture's longer side (wider than strokes)
WINDOW_FRACTION = 1 / 6
#: ...and at least this many pixels, or the whole picture if smaller (a small drawing or
#: MNIST's 28 x 28 has even light, and its strokes are a large share of it)
MIN_WINDOW = 33
#: the background is estimated where the window is about this many pixels wide
SMALL_WINDOW = 16
#: where the paper would be darker than this (a dark desk, a deep shadow), nothing is read
TOO_DARK = 0.12
#: Rec. 601 luma weights: how bright each of R, G, B looks
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """How bright each pixel looks.  Shape: (H, W, 3) -> (H, W)"""
    return rgb @ LUMA


def paper_window(shape: tuple[int, ...]) -> int:
    """The closing's window for a picture of this (H, W): wider than any stroke."""
    side = max(shape[:2])
    return odd(max(min(MIN_WINDOW, side), side * WINDOW_FRACTION))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Float (H, W) resize: area averaging when shrinking, bilinear when enlarging."""
    from PIL import Image

    if image.shape == (height, width):
        return image.astype(np.float32, copy=True)
    shrinking = height <= image.shape[0] and width <= image.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    out = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize(
        (width, height), method
    )
    return np.asarray(out, dtype=np.float32)


def small_copy(image: np.ndarray, window: int) -> tuple[np.ndarray, int]:
    """``image`` shrunk by a whole factor (block means) so that ``window`` becomes about
    SMALL_WINDOW pixels; and the window there.

    Shape: (H, W, ...) -> (ceil(H / f), ceil(W / f), ...)
    """
    factor = max(1, window // SMALL_WINDOW)
    if factor == 1:
        return image.astype(np.float32, copy=True), window
    h, w = image.shape[:2]
    rows, cols = -(-h // factor), -(-w // factor)
    if (rows * factor, cols * factor) != (h, w):
        pad = [(0, rows * factor - h), (0, cols * factor - w)] + [(0, 0)] * (image.ndim - 2)
        image = np.pad(image, pad, mode="edge")
    # sum each block's rows, then its columns: both sums run along memory (4-7x faster)
    rows_summed = image.reshape(rows, factor, -1).sum(axis=1, dtype=np.float32)
    blocks = rows_summed.reshape(rows, cols, factor, -1).sum(axis=2)
    return (blocks / factor**2).reshape(rows, cols, *image.shape[2:]), odd(window / factor)


def enlarge(small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The inverse of ``small_copy``: bilinear back to ``shape`` (H, W).

    Shape: (h, w) -> (H, W)
    """
    if small.shape == shape:
        return small
    # the factor small_copy shrank by: the smallest whose blocks give small's shape on both
    # axes (rows alone can give a smaller one: 418 rows in 19 blocks of 22 or of 23)
    factor = -(-shape[0] // small.shape[0])
    while -(-shape[0] // factor) > small.shape[0] or -(-shape[1] // factor) > small.shape[1]:
        factor += 1
    full = resize(small, small.shape[0] * factor, small.shape[1] * factor)
    return full[: shape[0], : shape[1]]


def dark_ink_on_light(small_gray: np.ndarray, size: int) -> bool:
    """True for dark ink on light paper, False for light ink on a dark ground.

    The frame's edge shows the ground: if it is mostly light, the ink is dark.  If it is
    mostly dark, the bright part is either light ink (thin: an opening wider than strokes
    removes it) or a sheet of paper on a dark desk (wide: it survives the opening), with
    dark ink on it.  An edge neither light nor dark: the ground is what covers most of the
    picture (the median is nearer that end).

    Shape: small_gray (h, w), a ``small_copy`` whose window is ``size``
    """
    darkest, median, brightest = np.percentile(small_gray, [1, 50, 99])
    middle = (darkest + brightest) / 2
    edge = np.concatenate([small_gray[0], small_gray[-1], small_gray[:, 0], small_gray[:, -1]])
    if np.mean(edge > middle) >= 0.75:
        return True
    if np.mean(edge > middle) > 0.25 and brightest - median <= median - darkest:
        return True
    bright = (small_gray > middle).astype(np.float32)
    wide = opening(bright, size)  # bright regions wider than strokes
    return bool(wide.sum() > 0.5 * bright.sum())


def paper_tint(small: np.ndarray, sheet: np.ndarray) -> np.ndarray:
    """The paper's colour under the light, as R, G, B relative to its brightness (white
    paper under a warm lamp: more red than blue).  Most of the sheet is bare paper, so the
    median over it is the paper's.

    Shape: small (h, w, 3), sheet (h, w) bool -> (3,)
    """
    on_sheet = small[sheet] if sheet.any() else small.reshape(-1, 3)
    brightness = np.maximum(on_sheet @ LUMA, 1e-3)[:, None]
    return np.clip(np.median(on_sheet / brightness, axis=0), 0.2, 5.0).astype(np.float32)


def ink_value(rgb: np.ndarray, dark_ink: bool, tint: np.ndarray) -> np.ndarray:
    """One brightness per pixel in which the ink stands out most.

    Dark ink: the darkest channel once the paper's tint is divided out (the paper is then
    gray in every channel), so a blue pen shows in red and green, a red one in green and
    blue, as dark as a black pen would.  Channels in which the paper itself is nearly black
    (red on blue paper) are left out.  Light ink: the brightest channel.

    Shape: (H, W, 3) -> (H, W)
    """
    if not dark_ink:
        return rgb.max(axis=-1)
    usable = tint >= 0.3
    return (rgb[..., usable] * (1 / tint[usable])).min(axis=-1)


def estimate_background(
    value: np.ndarray, dark_ink: bool, window: int, beyond: np.ndarray | None = None
) -> np.ndarray:
    """The bare paper's brightness under the light at every pixel, the ink taken away: a
    closing (dark ink; an opening for light ink) of a shrunk copy, smoothed, enlarged back.
    Past the frame's edge the paper is taken to go on as ``beyond`` (an earlier estimate)
    ends, or as the picture ends.

    Shape: (H, W) -> (H, W)
    """
    small, size = small_copy(value, window)
    outside = None if beyond is None else small_copy(beyond, window)[0]
    remove_ink = closing if dark_ink else opening
    return enlarge(box_blur(remove_ink(small, size, outside), odd(size / 4)), value.shape)


def ink_strength(value: np.ndarray, background: np.ndarray, dark_ink: bool) -> np.ndarray:
    """How much ink each pixel holds: 0 = bare paper, 1 = all the light absorbed.

    Dark ink: ``1 - value / background``, the light divided out; where even the bare paper
    would be nearly black (a dark desk, a deep shadow) nothing can be read: 0.  Light ink:
    how far each pixel rose from the ground towards white.

    Shape: (H, W), (H, W) -> (H, W)
    """
    if dark_ink:
        strength = 1.0 - value / np.maximum(background, TOO_DARK)
        strength[background < TOO_DARK] = 0.0
    else:
        strength = (value - background) / np.maximum(1.0 - background, 0.1)
    return np.clip(strength, 0.0, 1.0, out=strength).astype(np.float32, copy=False)
