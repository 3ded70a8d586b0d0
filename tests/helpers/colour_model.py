"""A small colour model (CIFAR-10's resnet preset, 3x32x32) and colour pictures for the live
page's tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

import cnn_numpy as cnn

STATS = {"mean": 0.4734, "std": 0.2516}
CARD = {
    "dataset": "cifar10",
    "class_names": list(cnn.CIFAR10_CLASSES),
    "normalize": STATS,
    "input_shape": [3, 32, 32],
    "preset": "resnet",
}


def colour_resnet():
    """A small resnet for 3x32x32 with BatchNorm statistics that are not 0 and 1."""
    model = cnn.resnet(10, in_channels=3, image_size=32, width=4, rng=0)
    model.train()
    model(np.random.default_rng(0).normal(0.3, 1.5, (16, 3, 32, 32)).astype(np.float32))
    return model.eval()


def photo(height: int = 60, width: int = 90, seed: int = 0) -> np.ndarray:
    """A colour picture (H, W, 3) uint8: a red disc on a green-blue gradient, some noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    disc = (rows - 0.5) ** 2 + (cols - 0.5) ** 2 < 0.06
    rgb = np.stack([np.where(disc, 0.9, 0.1), 0.2 + 0.6 * cols, 0.9 - 0.7 * rows], axis=-1)
    rgb += rng.normal(0, 0.03, rgb.shape)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()
