"""A colour photo prepared for a colour model (CIFAR-10's 3x32x32): the photo's centre, at
the model's shape, pixels in [0, 1].

The steps (torchvision's ``CenterCrop`` then ``Resize``, in the other order so nothing is
stretched): read the file as RGB (``read_photo``: EXIF orientation, alpha, decompression
bombs), cut the largest centred rectangle of the model's aspect ratio, and scale it to the
model's height x width with Pillow's antialiased bilinear filter.  Normalisation is not done
here: it is the training run's, from the model card (``cnn-numpy predict`` and the live page
both apply it after this).
"""

from __future__ import annotations

import os

import numpy as np

from .image_files import as_rgb, read_photo, resize_channels, shrink

#: a photo is first area-averaged to at most this many times the model's longer side: the
#: 32x32 input needs a few hundred pixels, not a 12-megapixel photo in float32
OVERSAMPLE = 8


def centre_crop(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """The largest centred part of ``pixels`` with the aspect ratio ``height : width``.

    Shape: (H, W, C) -> (h, w, C) with h / w = height / width (to a pixel)
    """
    H, W = pixels.shape[:2]
    if H * width > W * height:  # too tall: cut rows
        h, w = max(1, round(W * height / width)), W
    else:  # too wide (or exact): cut columns
        h, w = H, max(1, round(H * width / height))
    top, left = (H - h) // 2, (W - w) // 2
    return pixels[top : top + h, left : left + w]


def resize(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """``pixels`` scaled to height x width, each channel with Pillow's bilinear filter (which
    widens its support when shrinking, so nothing aliases), in float32.

    Shape: (H, W, C) -> (height, width, C)
    """
    from PIL import Image

    return np.clip(resize_channels(pixels, height, width, Image.Resampling.BILINEAR), 0.0, 1.0)


def prepare_colour(
    source: str | os.PathLike | np.ndarray, height: int = 32, width: int = 32
) -> np.ndarray:
    """A photo (a file, or an (H, W, 3) / (H, W) array) as a colour model's input image.

    Shape: -> (3, height, width) float32 in [0, 1], channels red, green, blue (CIFAR-10's
    order).  Raises FileNotFoundError, or ValueError saying what is wrong with the file.

    Example:
        >>> prepare_colour(np.ones((60, 90, 3), np.float32)).shape
        (3, 32, 32)
    """
    if not (isinstance(height, int) and isinstance(width, int) and height >= 1 and width >= 1):
        raise ValueError(f"height and width must be whole numbers >= 1, got {height}x{width}")
    limit = OVERSAMPLE * max(height, width)
    if isinstance(source, np.ndarray):
        pixels, _ = shrink(as_rgb(source), limit)
    else:
        pixels, _ = read_photo(source, max_side=limit)
    pixels = resize(centre_crop(pixels, height, width), height, width)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))  # (H, W, 3) -> (3, H, W)
