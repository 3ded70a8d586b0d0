"""From ink strength to the digit's strokes: an adaptive threshold, the pieces of ink that
make the digit (not specks, not the sheet's edge), and strokes as thick as MNIST's.

* Threshold (hysteresis, as Canny's edges): a pixel is ink if it is at least ``low`` and
  connected to a pixel at least ``high``.  Both follow the photo: a share of its strongest
  ink, and well above the paper's own noise (its median absolute deviation).  A faint end
  of a stroke stays attached to the stroke; a faint speck on its own goes.
* Strokes: connected pieces of ink (``components.py``).  The digit is the piece with the most
  ink, nearest the centre, plus the pieces close around it (a 5's bar, a broken 4); specks,
  pieces off the sheet and pieces along the frame's edge go.
* Thickness: MNIST's strokes are about a tenth of the digit's size wide (median 0.098 of
  the longer side of the box, measured on the training set at half intensity).  A ballpoint
  line photographed is far thinner and would shrink to a faint hair in 20 x 20: it is
  widened to a tenth (a max filter over an octagon: the same stroke a round pen draws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .components import Component, describe_components, label_components
from .morphology import box_blur, max_filter, odd, round_max_filter

#: ``high`` and ``low`` as shares of the strongest ink...
HIGH, LOW = 0.5, 0.25
#: ...and at least this many noise deviations above the paper
HIGH_NOISE, LOW_NOISE = 8.0, 4.0
#: below this strength nothing on the page counts as ink
MIN_CONTRAST = 0.08
#: the strongest ink is read past this many brightest pixels (a speck, a hot pixel)...
PEAK_PIXELS = 9
#: ...so ink must cover more pixels than that, and the paper (the median) more than the ink:
#: an image (or sheet) of fewer pixels cannot show a digit, e.g. 5x4 is the smallest
MIN_PIXELS = 2 * PEAK_PIXELS + 2


def check_size(height: int, width: int) -> None:
    """ValueError ("no digit found: the image is too small") for an image of fewer than
    ``MIN_PIXELS`` pixels, where no ink can stand out from the paper."""
    if height * width < MIN_PIXELS:
        raise ValueError(
            f"no digit found: the image is too small ({width}x{height} pixels; at least "
            f"{MIN_PIXELS} pixels, e.g. 5x4, are needed, and a digit reads best at 28x28 "
            "or more)"
        )


#: a piece is part of the digit if it lies within this share of the digit's size from it...
NEAR = 0.3
#: ...and holds at least this share of the main piece's pixels (smaller ones are specks)
MIN_SHARE = 0.03
#: a piece inside the frame this big (share of the frame) outweighs any cut by its edge
INNER_SHARE = 0.0025
#: stroke width / longer side of the digit's box, as in MNIST (see the module docstring)
MNIST_STROKE = 0.10
#: strokes thinner than this share of MNIST's width are widened to it (bolder ones are kept)
THIN = 0.7


@dataclass
class Thresholds:
    low: float
    high: float
    paper: float  # the paper's own ink strength (median on the sheet)
    noise: float  # the paper's noise (robust std of the ink strength on the sheet)
    peak: float  # the strongest ink (ignoring a few outliers)


def thresholds(strength: np.ndarray, sheet: np.ndarray) -> Thresholds:
    """``low`` and ``high`` for this photo, from the ink strength on the sheet: shares of
    the strokes' typical strength (the median of what stands out from the paper at all), so
    that one dark speck cannot set the bar for a faint digit.

    Shape: strength (H, W), sheet (H, W) bool
    """
    values = strength[sheet] if sheet.any() else strength.ravel()
    if values.size < MIN_PIXELS:  # a sheet this small holds no digit
        check_size(*strength.shape)
        raise ValueError(
            f"no digit found: the sheet of paper found is too small ({values.size} pixels)"
        )
    median = float(np.median(values))
    noise = 1.4826 * float(np.median(np.abs(values - median)))
    # the strongest ink, past the few brightest pixels a speck or a hot pixel could make
    count = max(PEAK_PIXELS, values.size // 5000)
    peak = float(np.partition(values, values.size - count)[values.size - count])
    if peak - median < MIN_CONTRAST:
        raise ValueError(
            "no digit found: the image is (almost) one flat colour, or its ink covers "
            f"fewer than {PEAK_PIXELS} pixels"
        )
    standing_out = values[values >= max(median + LOW * (peak - median), median + LOW_NOISE * noise)]
    typical = float(np.median(standing_out)) if standing_out.size else peak
    high = max(median + HIGH * (typical - median), median + HIGH_NOISE * noise)
    low = max(median + LOW * (typical - median), median + LOW_NOISE * noise)
    return Thresholds(low=low, high=min(high, peak), paper=median, noise=noise, peak=peak)


def hysteresis(strength: np.ndarray, limits: Thresholds) -> tuple[np.ndarray, int]:
    """Pieces of ink: the components of ``strength >= low`` that reach ``high`` somewhere.

    Shape: (H, W) -> labels (H, W) int32 (0 = no ink), and their count
    """
    labels, count = label_components(strength >= limits.low)
    strong = np.unique(labels[(strength >= limits.high) & (labels > 0)])
    keep = np.zeros(count + 1, dtype=bool)
    keep[strong] = True
    labels = np.where(keep[labels], labels, 0)
    renumber = np.zeros(count + 1, dtype=np.int32)
    renumber[strong] = np.arange(1, len(strong) + 1)
    return renumber[labels], len(strong)


def choose_pieces(
    pieces: list[Component], labels: np.ndarray, sheet: np.ndarray
) -> list[Component]:
    """The pieces that make the digit (see the module docstring).

    Shape: labels (H, W), sheet (H, W) bool
    """
    if not pieces:
        return []
    h, w = labels.shape
    on_sheet = np.bincount(labels[sheet], minlength=len(pieces) + 1)[1:]
    candidates = [p for p in pieces if on_sheet[p.label - 1] >= 0.5 * p.area]
    inner = [p for p in candidates if not p.touches_border]
    largest = max((p.area for p in candidates), default=0)
    if any(p.area >= min(0.1 * largest, INNER_SHARE * h * w) for p in inner):
        candidates = inner  # something real inside: what the frame's edge cuts goes
    if not candidates:
        return []

    def weight(p: Component) -> float:  # ink, preferring the middle of the frame
        dy, dx = (p.centre[0] - h / 2) / h, (p.centre[1] - w / 2) / w
        return p.area * p.strength / (1 + 4 * (dy * dy + dx * dx))

    main = max(candidates, key=weight)
    reach = NEAR * max(main.height, main.width)
    return [
        p
        for p in candidates
        if p is main or (p.area >= MIN_SHARE * main.area and gap(p, main) <= reach)
    ]


def gap(a: Component, b: Component) -> float:
    """The distance between two pieces' bounding boxes (0 if they overlap)."""
    rows = max(0, a.top - b.bottom, b.top - a.bottom)
    cols = max(0, a.left - b.right, b.left - a.right)
    return float(np.hypot(rows, cols))


def find_strokes(
    strength: np.ndarray, sheet: np.ndarray, limits: Thresholds
) -> tuple[np.ndarray, np.ndarray]:
    """The digit's strokes, and every piece the threshold found (for showing what went).

    Shape: (H, W), (H, W) bool -> (H, W) bool, (H, W) bool
    """
    labels, count = hysteresis(strength, limits)
    pieces = describe_components(labels, count, strength)
    chosen = choose_pieces(pieces, labels, sheet)
    keep = np.zeros(count + 1, dtype=bool)
    keep[[p.label for p in chosen]] = True
    return keep[labels], labels > 0


def stroke_width(mask: np.ndarray) -> float:
    """Mean width of the strokes in ``mask``: 2 x area / perimeter (a stroke of width w
    and length L has area wL and a boundary about 2L long).  Shape: (H, W) bool -> scalar"""
    m = np.pad(mask, 1)
    perimeter = np.count_nonzero(m[1:] != m[:-1]) + np.count_nonzero(m[:, 1:] != m[:, :-1])
    return 2.0 * np.count_nonzero(mask) / max(perimeter, 1)


def thicken(ink: np.ndarray, strokes: np.ndarray) -> tuple[np.ndarray, int]:
    """Widen thin strokes to MNIST's width (a max filter of the ink); also the filter's size
    (1 = left as they were).  ``strokes`` is the mask of the digit's strokes at half strength.

    Shape: ink (h, w), strokes (h, w) bool -> (h, w), and the size
    """
    rows, cols = np.nonzero(strokes)
    if len(rows) == 0:
        return ink, 1
    side = max(np.ptp(rows), np.ptp(cols)) + 1
    smooth = box_blur(strokes.astype(np.float32), 3) >= 0.5  # ragged edges inflate P
    missing = MNIST_STROKE * side - stroke_width(smooth)
    if missing < (1 - THIN) * MNIST_STROKE * side:
        return ink, 1
    size = odd(missing + 1)
    return round_max_filter(ink, size), size


def ink_image(strength: np.ndarray, strokes: np.ndarray, limits: Thresholds) -> np.ndarray:
    """The digit alone, MNIST-like: paper 0, a typical stroke 1, anti-aliased edges kept.

    Strength counts only on and right around the chosen strokes (a 3 x 3 neighbourhood keeps
    their soft edges), from just above the paper's level up to the strokes' typical strength.

    Shape: (H, W), (H, W) bool -> (H, W) float32 in [0, 1]
    """
    out = np.zeros(strength.shape, dtype=np.float32)
    rows, cols = np.nonzero(strokes)
    if len(rows) == 0:
        return out
    top, left = max(rows.min() - 1, 0), max(cols.min() - 1, 0)
    region = np.s_[top : rows.max() + 2, left : cols.max() + 2]  # the strokes' box + 1 px
    near = max_filter(strokes[region].astype(np.float32), 3) > 0
    floor = limits.paper + 2 * limits.noise
    level = float(np.percentile(strength[strokes], 75))
    ink = (strength[region] - floor) / max(level - floor, 1e-6)
    out[region] = np.where(near, np.clip(ink, 0.0, 1.0), 0.0)
    return out
