"""Where is the sheet?  A photo of a digit often shows the desk around the paper.

The photo, shrunk until pen strokes fade into the paper, splits into two groups of
brightness, found by Otsu's threshold: the sheet, and around it a surface several times
darker that takes most of the frame's edge.  If there is no such surface (the paper fills
the frame, or the dark part is a shadow over one side of the page: the lit part then runs
along much of the edge), the whole frame is the sheet.  Holes in the sheet (the ink, dark
marks) belong to it.
"""

from __future__ import annotations

import numpy as np

from .components import label_components
from .morphology import min_filter

#: the desk must be at least this many times darker than the sheet (a shadow is less)
DESK_CONTRAST = 2.0
#: ...and surround the sheet: the sheet may touch at most this share of the frame's border
#: (a shadow over one side leaves the lit part of the page along half the border or more)
SHEET_BORDER = 0.35


def otsu_threshold(values: np.ndarray, bins: int = 128) -> float:
    """The threshold that best splits ``values`` into two groups (Otsu 1979: the largest
    between-group variance, computed for every cut of a histogram at once).

    Shape: (N,) -> scalar
    """
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)[:-1]  # pixels at or below each cut
    weight_high = counts.sum() - weight_low
    sums = np.cumsum(counts * centres)[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sums / weight_low
        mean_high = (sums[-1] + counts[-1] * centres[-1] - sums) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    between = np.nan_to_num(between, nan=-1.0)
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))  # an empty gap ties:
    return float(edges[1:-1][best].mean())  # cut in its middle


def find_sheet(paper: np.ndarray) -> np.ndarray:
    """A mask of the sheet in a (shrunk) grayscale photo.

    Shape: paper (H, W) in [0, 1] -> (H, W) bool
    """
    everything = np.ones(paper.shape, dtype=bool)
    log_paper = np.log(np.maximum(paper, 1e-3))
    if np.ptp(log_paper) < np.log(DESK_CONTRAST):
        return everything
    bright = log_paper > otsu_threshold(log_paper.ravel())
    if np.exp(log_paper[bright].mean() - log_paper[~bright].mean()) < DESK_CONTRAST:
        return everything
    border = np.concatenate([bright[0], bright[-1], bright[:, 0], bright[:, -1]])
    if np.mean(border) > SHEET_BORDER:  # a shadow over part of the page, no desk
        return everything
    labels, count = label_components(bright)
    if count == 0:
        return everything
    largest = 1 + int(np.argmax(np.bincount(labels.ravel(), minlength=count + 1)[1:]))
    sheet = fill_holes(labels == largest)
    return min_filter(sheet.astype(np.float32), 3) > 0  # its very edge is neither


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every region it encloses (not reaching the frame's edge) filled in.

    Shape: (H, W) bool -> (H, W) bool
    """
    labels, count = label_components(~mask)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return mask | ((labels > 0) & ~np.isin(labels, edge))
