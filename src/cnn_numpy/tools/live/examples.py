"""A few example images for a colour model's page, to click instead of uploading a photo.

From the test set of the dataset the model was trained on when its files are on this
computer (CIFAR-10's ``test_batch.bin``, in the run's data folder or the default one): the
first test image of each class, read from the file's first few hundred records only.
Otherwise generated pictures (a sky over the sea, a red disc, ...), said to be generated:
never anything from the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...data.cifar10 import CIFAR10_CLASSES, FOLDER, RECORD, cifar10_dir

#: records read from the start of the test batch to find one image per class (~300 kB)
SCAN = 100


def dataset_examples(card: dict, data_dir: str | os.PathLike | None = None) -> list[dict]:
    """Examples for a model with ``card``: the dataset's test images if at hand, else
    generated ones.  Each is ``{"image": (3, H, W) float32 in [0, 1], "label": class name
    or None, "source": words}``; at most one per class."""
    shape = tuple(card.get("input_shape") or (3, 32, 32))
    if card.get("dataset") == "cifar10" and shape == (3, 32, 32):
        settings = card.get("settings") if isinstance(card.get("settings"), dict) else {}
        root = data_dir or settings.get("data_dir")
        found = cifar10_test_examples(root if isinstance(root, (str, os.PathLike)) else None)
        if found:
            return found
    return generated_examples(shape[1], shape[2])


def cifar10_test_examples(root: str | os.PathLike | None) -> list[dict]:
    """The first test image of each class from ``cifar-10-batches-bin/test_batch.bin`` under
    ``root`` (see ``cifar10_dir``), or [] when the file is not there or is damaged.  Only
    an unpacked batch is read: nothing is unpacked or downloaded for a page."""
    path = Path(cifar10_dir(root)) / FOLDER / "test_batch.bin"
    try:
        with path.open("rb") as file:
            data = file.read(SCAN * RECORD)
    except OSError:
        return []
    if not data or len(data) % RECORD:
        return []
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD)
    labels, pixels = records[:, 0], records[:, 1:]
    if labels.max() >= len(CIFAR10_CLASSES):
        return []
    examples = []
    for label in sorted(set(labels.tolist())):
        k = int(np.argmax(labels == label))  # the first of its class
        image = pixels[k].reshape(3, 32, 32).astype(np.float32) / np.float32(255)
        examples.append(
            {
                "image": image,
                "label": CIFAR10_CLASSES[label],
                "source": f"CIFAR-10 test image {k} ({path.name})",
            }
        )
    return examples


def generated_examples(height: int, width: int) -> list[dict]:
    """Six pictures drawn here, at the model's size: a sky over the sea, a red disc on grass,
    a yellow square on blue, green stripes, a sunset gradient, a grey checkerboard.

    Shape: each image (3, height, width) float32 in [0, 1]
    """
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None] * np.ones((1, width), np.float32)
    cols = np.linspace(0, 1, width, dtype=np.float32)[None, :] * np.ones((height, 1), np.float32)

    def paint(*layers) -> np.ndarray:
        return np.clip(np.stack(layers), 0, 1).astype(np.float32)

    sea = rows > 0.55
    disc = (rows - 0.5) ** 2 + (cols - 0.5) ** 2 < 0.09
    square = (np.abs(rows - 0.5) < 0.25) & (np.abs(cols - 0.5) < 0.25)
    stripes = (np.floor(cols * 6) % 2).astype(np.float32)
    checks = ((np.floor(rows * 4) + np.floor(cols * 4)) % 2).astype(np.float32)
    pictures = {
        "a sky over the sea": paint(
            np.where(sea, 0.05, 0.55 + 0.3 * rows), np.where(sea, 0.3, 0.75), np.where(sea, 0.55, 1)
        ),
        "a red disc on grass": paint(
            np.where(disc, 0.85, 0.2), np.where(disc, 0.1, 0.6), np.where(disc, 0.1, 0.15)
        ),
        "a yellow square on blue": paint(
            np.where(square, 0.95, 0.1), np.where(square, 0.85, 0.2), np.where(square, 0.1, 0.7)
        ),
        "green stripes": paint(0.1 + 0.1 * stripes, 0.3 + 0.6 * stripes, 0.1 + 0.1 * stripes),
        "a sunset gradient": paint(0.95 - 0.3 * rows, 0.3 + 0.4 * (1 - rows), 0.2 + 0.5 * rows),
        "a grey checkerboard": paint(0.2 + 0.6 * checks, 0.2 + 0.6 * checks, 0.2 + 0.6 * checks),
    }
    return [
        {"image": image, "label": None, "source": f"generated: {name}"}
        for name, image in pictures.items()
    ]
