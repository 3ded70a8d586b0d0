"""Turn a photo or drawing of a digit into an MNIST-like 28x28 input.

A net trained on MNIST has only seen white digits on black, about 20x20 pixels, centred
by their centre of mass in a 28x28 field (LeCun et al.'s preprocessing).  Anything else
(a dark pen on white paper, a digit in a corner, a tall thin image) gives confident
nonsense.  ``preprocess_digit`` repeats MNIST's steps on your image:

    gray  ->  ink (inverted if the background is light, background at 0, ink up to 1)
          ->  cropped to the ink's bounding box
          ->  scaled to fit 20x20, aspect ratio kept (area averaging when shrinking),
              strongest ink back to 1
          ->  placed in 28x28 with its centre of mass at the centre
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: pixels whose ink is below this fraction of the darkest stroke count as background
INK_THRESHOLD = 0.2
#: the crop is the bounding box of the pixels at least this dark (uneven light stays outside)
BOX_THRESHOLD = 0.5


@dataclass
class Preprocessed:
    """Every step of ``preprocess_digit``, float32 arrays in [0, 1], for showing them."""

    gray: np.ndarray       # (H, W) the image as read, 1 = white
    ink: np.ndarray        # (H, W) ink = 1, background = 0
    inverted: bool         # True when the background was light (dark ink on paper)
    cropped: np.ndarray    # (h, w) the ink's bounding box
    scaled: np.ndarray     # (h', w') with max(h', w') = box
    image: np.ndarray      # (size, size) the network's input, before normalisation


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A PNG/JPEG/... file as grayscale float32 (H, W) in [0, 1]; transparency becomes white."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                img = img.convert("RGBA")
                white = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(white, img)
            gray = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"cannot read {path} as an image ({err}); use a PNG or JPEG "
                         "file") from err
    return gray


def to_ink(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Background -> 0, strongest ink -> 1.  The background is the median of the border
    pixels; if it is light (> 0.5) the image is inverted first."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    inverted = bool(np.median(border) > 0.5)
    x = 1.0 - gray if inverted else gray
    background = float(np.median(1.0 - border if inverted else border))
    peak = float(x.max())
    if peak - background < 0.1:
        raise ValueError("no digit found: the image is (almost) one flat colour")
    ink = np.clip((x - background) / (peak - background), 0.0, 1.0).astype(np.float32)
    ink[ink < INK_THRESHOLD] = 0.0        # paper texture and JPEG noise are not ink
    return ink, inverted


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float image: area averaging when shrinking (anti-aliased, as MNIST's),
    bilinear when enlarging."""
    from PIL import Image

    shrinking = height <= image.shape[0] and width <= image.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    out = Image.fromarray(image.astype(np.float32)).resize((width, height), method)
    return np.asarray(out, dtype=np.float32)


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted mean pixel position."""
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def place_centered(image: np.ndarray, size: int) -> np.ndarray:
    """Paste ``image`` into a ``size x size`` black field so that its centre of mass lands on
    the field's centre, ``(size - 1) / 2`` (rounded to whole pixels); overflow is cut off."""
    r, c = center_of_mass(image)
    top = int(np.round((size - 1) / 2 - r))
    left = int(np.round((size - 1) / 2 - c))
    out = np.zeros((size, size), dtype=np.float32)
    h, w = image.shape
    # the part of `image` that falls inside the field
    r0, c0 = max(0, -top), max(0, -left)
    r1, c1 = min(h, size - top), min(w, size - left)
    out[top + r0 : top + r1, left + c0 : left + c1] = image[r0:r1, c0:c1]
    return out


def preprocess_digit(image: np.ndarray | str | os.PathLike, size: int = 28,
                     box: int = 20) -> Preprocessed:
    """MNIST-style preprocessing of one grayscale image (or an image file).

    Args:
        image: (H, W) grayscale in [0, 1] (1 = white), or a path to a PNG/JPEG.
        size: side of the output field (28 for MNIST).
        box: the ink is scaled so its longer side is ``box`` pixels (20 for MNIST).

    Returns a ``Preprocessed`` whose ``.image`` is float32 (size, size) in [0, 1], ink = 1.
    Normalise it as in training (``cnn_numpy.normalize``) before giving it to the model.
    """
    if not isinstance(image, np.ndarray):
        image = read_image(image)
    gray = np.asarray(image, dtype=np.float32)
    if gray.ndim != 2:
        raise ValueError(f"preprocess_digit expects a 2-D grayscale image, got shape {gray.shape}")
    ink, inverted = to_ink(gray)
    rows, cols = np.nonzero(ink >= BOX_THRESHOLD)
    cropped = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = cropped.shape
    scale = box / max(h, w)
    scaled = resize(cropped, max(1, round(h * scale)), max(1, round(w * scale)))
    scaled = np.clip(scaled / scaled.max(), 0.0, 1.0)     # strongest ink = 1, as in MNIST
    return Preprocessed(gray=gray, ink=ink, inverted=inverted, cropped=cropped, scaled=scaled,
                        image=place_centered(scaled, size))

