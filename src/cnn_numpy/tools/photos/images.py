"""Turn a photo or drawing of a digit into an MNIST-like 28x28 input.

A net trained on MNIST has only seen white digits on black, about 20x20 pixels, centred
by their centre of mass in a 28x28 field (LeCun et al.'s preprocessing).  Anything else
(a dark pen on white paper, a digit in a corner, a lamp's gradient, the desk around the
sheet) gives confident nonsense.  ``preprocess_digit`` first finds the ink the way a
person would, then repeats MNIST's steps:

    read      ->  at most 800 pixels on the longer side, upright, alpha resolved (image_files)
    lighting  ->  the paper under the light estimated and divided out (lighting)
    sheet     ->  the paper told apart from a dark desk around it (sheet)
    threshold ->  ink where the strength is well above the paper's noise (ink: hysteresis)
    strokes   ->  the digit's pieces kept; specks and the frame's edge dropped (ink)
    thicken   ->  thin pen lines widened to MNIST's stroke width (ink)
    MNIST     ->  cropped, scaled to fit 20x20 (area averaging), strongest ink 1,
                  placed in 28x28 with its centre of mass at the centre

An image that already is in MNIST's format (28x28, the ink within 20x20 and centred, the
frame's edge bare: an MNIST digit saved as a PNG) is used as it is (``mnist_format``):
the steps would only resample it, and blur what the network was trained on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .image_files import as_rgb, read_photo, shrink
from .ink import Thresholds, check_size, find_strokes, ink_image, thicken, thresholds
from .lighting import (
    dark_ink_on_light,
    enlarge,
    estimate_background,
    ink_strength,
    ink_value,
    luminance,
    paper_tint,
    paper_window,
    resize,
    small_copy,
)
from .morphology import odd
from .sheet import find_sheet

#: photos are prepared at most this many pixels on their longer side (a 12 MP photo is
#: shrunk 5 times: the digit keeps a hundred pixels or more, far more than 20x20 needs)
WORK_SIDE = 800
#: the ink is read a second time with a window this many times the size of what was found
WHOLE = 1.2
#: the crop is the bounding box of the ink at least this strong
BOX_THRESHOLD = 0.5
#: an image counts as MNIST's format when its ink box and centre of mass are within this
#: many pixels of MNIST's (and its outermost rows and columns are bare)
FORMAT_SLACK = 2


@dataclass
class Preprocessed:
    """Every step of ``preprocess_digit``, for showing them.  Float32 arrays in [0, 1]; (H, W)
    is the image as prepared (shrunk to at most ``WORK_SIDE`` pixels)."""

    gray: np.ndarray  # (H, W) the image as read, 1 = white
    ink: np.ndarray  # (H, W) the digit's ink alone: 1 = ink, 0 = background
    inverted: bool  # True when the ink was dark on a light ground (so inverted)
    cropped: np.ndarray  # (h, w) the ink's bounding box, strokes thickened
    scaled: np.ndarray  # (h', w') with max(h', w') = box
    image: np.ndarray  # (size, size) the network's input, before normalisation
    photo: np.ndarray  # (H, W, 3) the image as read, in colour
    background: np.ndarray  # (H, W) how bright the bare paper is under the light
    corrected: np.ndarray  # (H, W) the image with the light divided out (paper 1 or 0)
    sheet: np.ndarray  # (H, W) bool: the sheet of paper (all True if it fills the frame)
    strength: np.ndarray  # (H, W) how much ink each pixel holds, 0 = bare paper
    pieces: np.ndarray  # (H, W) bool: every piece of ink the threshold found
    strokes: np.ndarray  # (H, W) bool: the pieces kept as the digit
    limits: Thresholds  # the threshold's low and high, the paper's noise
    thickened: int  # the max filter that widened the strokes (1 = none)
    shrunk_by: float  # the file's longer side / H's or W's longer side
    as_is: bool = False  # True when it already was in MNIST's format (``mnist_format``)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A PNG/JPEG/... file as grayscale float32 (H, W) in [0, 1], 1 = white, full size.

    A flat colour on a transparent layer is read by its alpha, as dark ink on white (see
    ``image_files``).  Raises ValueError for a damaged, truncated or oversized file."""
    rgb, _ = read_photo(path)
    return luminance(rgb)


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted mean pixel position."""
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def place_centered(image: np.ndarray, size: int) -> np.ndarray:
    """Paste ``image`` into a ``size x size`` black field so that its centre of mass lands on
    pixel ``(size / 2, size / 2)`` (rounded to whole pixels), where MNIST has it: the mean
    centre of mass of its test digits is (13.99, 14.00) in 28x28.  Overflow is cut off."""
    r, c = center_of_mass(image)
    top = int(np.round(size / 2 - r))
    left = int(np.round(size / 2 - c))
    out = np.zeros((size, size), dtype=np.float32)
    h, w = image.shape
    # the part of `image` that falls inside the field
    r0, c0 = max(0, -top), max(0, -left)
    r1, c1 = min(h, size - top), min(w, size - left)
    out[top + r0 : top + r1, left + c0 : left + c1] = image[r0:r1, c0:c1]
    return out


def crop_and_thicken(ink: np.ndarray, strokes: np.ndarray) -> tuple[np.ndarray, int]:
    """The ink's bounding box (ink >= BOX_THRESHOLD), its strokes widened to MNIST's width.

    Shape: (H, W), (H, W) bool -> (h, w), and the widening filter's size
    """
    rows, cols = np.nonzero((ink >= BOX_THRESHOLD) & strokes)
    if len(rows) == 0:
        rows, cols = np.nonzero(ink > 0)
    box = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    margin = max(box.shape) // 5 + 1  # room for the strokes to widen into
    padded = np.pad(box, margin)
    widened, size = thicken(padded, padded >= BOX_THRESHOLD)
    if size == 1:
        return box, 1
    rows, cols = np.nonzero(widened >= BOX_THRESHOLD)
    return widened[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1], size


def mnist_steps(cropped: np.ndarray, size: int, box: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale the cropped ink to fit ``box`` x ``box`` (aspect kept, strongest ink 1) and place
    it by its centre of mass in ``size`` x ``size``.  Shape: (h, w) -> (h', w'), (size, size)"""
    h, w = cropped.shape
    scale = box / max(h, w)
    scaled = resize(cropped, max(1, round(h * scale)), max(1, round(w * scale)))
    scaled = np.clip(scaled / scaled.max(), 0.0, 1.0)  # strongest ink = 1, as in MNIST
    return scaled, place_centered(scaled, size)


def mnist_format(gray: np.ndarray, size: int, box: int) -> tuple[np.ndarray, bool] | None:
    """``gray`` as the network's input, and whether it was inverted, if it already is in
    MNIST's format: ``size`` x ``size``, light ink on a dark ground (or dark ink on light,
    then inverted), the ink's longer side ``box`` pixels (give or take ``FORMAT_SLACK``),
    its centre of mass at the centre, the frame's edge bare.  None for anything else.

    Shape: (H, W) -> (size, size)
    """
    if gray.shape != (size, size):
        return None
    k = FORMAT_SLACK
    for inverted, ink in ((False, gray), (True, 1.0 - gray)):
        edge = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
        rows, cols = np.nonzero(ink >= BOX_THRESHOLD)
        if edge.max() > 0.2 or len(rows) == 0 or abs(max(np.ptp(rows), np.ptp(cols)) + 1 - box) > k:
            continue
        r, c = center_of_mass(ink)
        if abs(r - size / 2) <= k and abs(c - size / 2) <= k:
            return np.clip(ink / ink.max(), 0.0, 1.0).astype(np.float32), inverted
    return None


def as_it_is(rgb: np.ndarray, image: np.ndarray, inverted: bool) -> Preprocessed:
    """The steps of an image already in MNIST's format: each one the image itself."""
    gray, strokes = luminance(rgb), image >= BOX_THRESHOLD
    paper = np.full(gray.shape, 1.0 if inverted else 0.0, dtype=np.float32)
    return Preprocessed(
        gray=gray,
        ink=image,
        inverted=inverted,
        cropped=image,
        scaled=image,
        image=image,
        photo=rgb,
        background=paper,
        corrected=gray,
        sheet=np.ones(gray.shape, bool),
        strength=image,
        pieces=strokes,
        strokes=strokes,
        limits=Thresholds(BOX_THRESHOLD, BOX_THRESHOLD, 0.0, 0.0, float(image.max())),
        thickened=1,
        shrunk_by=1.0,
        as_is=True,
    )


def load_rgb(image) -> tuple[np.ndarray, float]:
    """A path or an array as RGB float32 in [0, 1], shrunk to ``WORK_SIDE``; the factor."""
    if isinstance(image, (str, os.PathLike)):
        return read_photo(image, WORK_SIDE)
    return shrink(as_rgb(image), WORK_SIDE)


def preprocess_digit(
    image: np.ndarray | str | os.PathLike, size: int = 28, box: int = 20
) -> Preprocessed:
    """MNIST-style preparation of one photo, scan or drawing of a digit (see the module).

    Args:
        image: a path to a PNG/JPEG/..., or an array: (H, W) grayscale, (H, W, 3) RGB or
            (H, W, 4) RGBA, floats in [0, 1] or uint8.  Dark ink on light paper or light
            ink on a dark ground; a flat colour on a transparent layer is read by its alpha.
        size: side of the output field (28 for MNIST).
        box: the ink is scaled so its longer side is ``box`` pixels (20 for MNIST).

    Returns a ``Preprocessed`` whose ``.image`` is float32 (size, size) in [0, 1], ink = 1
    (an image already in MNIST's format comes back as it is, ``.as_is`` True).
    Normalise it as in training (``cnn_numpy.normalize``) before giving it to the model.
    Raises ValueError when the file cannot be read or no ink stands out from the paper.
    """
    whole = [isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in (size, box)]
    if not (all(whole) and 1 <= box <= size):
        raise ValueError(
            "preprocess_digit: size and box must be whole numbers with 1 <= box <= size "
            f"(MNIST's: 28 and 20), got size={size!r}, box={box!r}"
        )
    rgb, shrunk_by = load_rgb(image)
    check_size(*rgb.shape[:2])  # a 1x1 or 2x2 image: no digit, said plainly
    prepared = mnist_format(luminance(rgb), size, box)
    if prepared is not None:
        return as_it_is(rgb, *prepared)
    window = paper_window(rgb.shape)
    small, small_window = small_copy(rgb, window)  # strokes fade, paper and desk stay
    small_gray = luminance(small)
    dark_ink = dark_ink_on_light(small_gray, small_window)
    small_sheet = find_sheet(small_gray) if dark_ink else np.ones(small_gray.shape, bool)
    sheet = enlarge(small_sheet.astype(np.float32), rgb.shape[:2]) >= 0.5
    value = ink_value(rgb, dark_ink, paper_tint(small, small_sheet))
    found = find_ink(value, dark_ink, sheet, window)
    rows, cols = np.nonzero(found.strokes)
    whole = odd(WHOLE * (max(np.ptp(rows), np.ptp(cols)) + 1))
    if whole > window:
        # once more, the window wider than the whole digit: a filled shape, or a stroke
        # wider than the first window, is then ink all through, not an outline around
        # something the closing took for paper
        found = find_ink(value, dark_ink, sheet, whole, beyond=found.background)
    ink = ink_image(found.strength, found.strokes, found.limits)
    cropped, thickened = crop_and_thicken(ink, found.strokes)
    scaled, placed = mnist_steps(cropped, size, box)
    return Preprocessed(
        gray=luminance(rgb),
        ink=ink,
        inverted=dark_ink,
        cropped=cropped,
        scaled=scaled,
        image=placed,
        photo=rgb,
        background=found.background,
        corrected=1.0 - found.strength if dark_ink else found.strength,
        sheet=sheet,
        strength=found.strength,
        pieces=found.pieces,
        strokes=found.strokes,
        limits=found.limits,
        thickened=thickened,
        shrunk_by=shrunk_by,
    )


@dataclass
class Found:
    background: np.ndarray  # (H, W) the bare paper's brightness under the light
    strength: np.ndarray  # (H, W) ink strength, 0 off the sheet
    limits: Thresholds
    strokes: np.ndarray  # (H, W) bool the digit's pieces
    pieces: np.ndarray  # (H, W) bool every piece the threshold found


def find_ink(
    value: np.ndarray,
    dark_ink: bool,
    sheet: np.ndarray,
    window: int,
    beyond: np.ndarray | None = None,
) -> Found:
    """Lighting, threshold and strokes, with a closing ``window`` pixels wide (``beyond``:
    how the paper goes on past the frame, see ``estimate_background``).

    Shape: value (H, W) (``lighting.ink_value``), sheet (H, W) bool
    """
    background = estimate_background(value, dark_ink, window, beyond)
    strength = ink_strength(value, background, dark_ink)
    strength[~sheet] = 0.0
    limits = thresholds(strength, sheet)
    strokes, pieces = find_strokes(strength, sheet, limits)
    if not strokes.any():
        raise ValueError("no digit found: no stroke stands out from the paper")
    return Found(
        background=background, strength=strength, limits=limits, strokes=strokes, pieces=pieces
    )
