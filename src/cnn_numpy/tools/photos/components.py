"""Connected components of a binary image, in NumPy: which ink pixels touch each other.

Only the ink pixels take part (a few thousand in a digit photo, not the whole frame).  A
union-find forest, built in whole-array steps (Shiloach-Vishkin's "hook and jump"): every
pixel points at a parent, at first itself.  Each round, every pixel jumps to its root
(``parent = parent[parent]`` until nothing changes), then for each pair of touching pixels
with different roots, the larger root is hooked under the smaller one.  Trees merge by the
dozen each round, so a component of any shape (a long spiral too) ends after a handful of
rounds with one root: its smallest pixel number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the 8-neighbourhood, half of it: each pair of neighbours is one edge
NEIGHBOURS = ((0, 1), (1, -1), (1, 0), (1, 1))


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Number the 8-connected components of ``mask``: labels 1..count, 0 = not in mask.

    Shape: (H, W) bool -> (H, W) int32, and the count
    """
    rows, cols = np.nonzero(mask)
    n = len(rows)
    labels = np.zeros(mask.shape, dtype=np.int32)
    if n == 0:
        return labels, 0
    index = np.full((mask.shape[0] + 2, mask.shape[1] + 2), -1, dtype=np.int64)
    index[rows + 1, cols + 1] = np.arange(n)  # the pixel number of each ink pixel
    pixel, neighbour = [], []  # every pair of touching ink pixels, once
    for dr, dc in NEIGHBOURS:
        other = index[rows + 1 + dr, cols + 1 + dc]
        touching = other >= 0
        pixel.append(np.flatnonzero(touching))
        neighbour.append(other[touching])
    pixel, neighbour = np.concatenate(pixel), np.concatenate(neighbour)
    parent = np.arange(n)  # a forest: each pixel points towards its component's root
    while True:
        while True:  # pointer jumping until every pixel points at its root
            grandparent = parent[parent]
            if np.array_equal(grandparent, parent):
                break
            parent = grandparent
        root_a, root_b = parent[pixel], parent[neighbour]
        apart = root_a != root_b
        if not apart.any():
            break
        # hook: the larger root of two touching pixels now points at the smaller one
        parent[np.maximum(root_a[apart], root_b[apart])] = np.minimum(root_a[apart], root_b[apart])
    _, numbered = np.unique(parent, return_inverse=True)
    labels[rows, cols] = numbered.reshape(-1) + 1
    return labels, int(numbered.max()) + 1


@dataclass
class Component:
    """One connected piece of ink: where it is and how much there is."""

    label: int
    area: int  # pixels
    top: int
    left: int
    bottom: int  # exclusive, as in slices
    right: int
    strength: float  # mean ink strength over its pixels (0..1)
    touches_border: bool  # reaches the frame's edge

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def centre(self) -> tuple[float, float]:
        return (self.top + self.bottom) / 2, (self.left + self.right) / 2


def describe_components(labels: np.ndarray, count: int, strength: np.ndarray) -> list[Component]:
    """A ``Component`` for each label 1..count (bounding boxes from one pass over the pixels).

    Shape: labels (H, W), strength (H, W) -> list of ``count``
    """
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols] - 1
    area = np.bincount(which, minlength=count)
    total = np.bincount(which, weights=strength[rows, cols], minlength=count)
    top = np.full(count, labels.shape[0]), np.full(count, labels.shape[1])
    top, left = top
    np.minimum.at(top, which, rows)
    np.minimum.at(left, which, cols)
    bottom, right = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    np.maximum.at(bottom, which, rows + 1)
    np.maximum.at(right, which, cols + 1)
    h, w = labels.shape
    return [
        Component(
            label=k + 1,
            area=int(area[k]),
            top=int(top[k]),
            left=int(left[k]),
            bottom=int(bottom[k]),
            right=int(right[k]),
            strength=float(total[k] / max(area[k], 1)),
            touches_border=bool(top[k] == 0 or left[k] == 0 or bottom[k] == h or right[k] == w),
        )
        for k in range(count)
    ]
