"""A few training images as the augmentation saw them: the report's picture of ``--augment``."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ...data.atomic import atomic_write_bytes
from .figures import display_image, hide_ticks, pyplot, subplots

#: the report's section for the picture (see report.SECTIONS)
AUGMENTATION_SECTION = (
    "augmentation",
    "Augmentation: the training images as the network saw them",
    "The first row holds training images as they are in the files; each row below, the same "
    "images as one epoch's augmentation changed them (each draw is new, so no image is seen "
    "twice alike). The test images are never changed.",
)


def plot_augmented(X: np.ndarray, augment, rng=0, images: int = 8, draws: int = 3):
    """A figure: ``images`` training images (top row), then ``draws`` rows of the same images
    through ``augment(batch, rng)``.  Shape: X (N, C, H, W)."""
    rng = np.random.default_rng(rng)
    originals = np.asarray(X[:images])
    rows = [originals] + [augment(originals, rng) for _ in range(draws)]
    fig, axes = subplots(len(rows), len(originals), figsize=(1.2 * len(originals), 1.3 * len(rows)))
    axes = np.asarray(axes).reshape(len(rows), len(originals))
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            picture, cmap = display_image(image)
            axes[r, c].imshow(picture, cmap=cmap)
            hide_ticks(axes[r, c])
        axes[r, 0].set_ylabel("original" if r == 0 else f"draw {r}", fontsize=8)
    fig.suptitle(f"augmentation: {augment!r}"[:100], fontsize=9)
    fig.tight_layout()
    return fig


def save_augmented(run_dir: str | os.PathLike, X: np.ndarray, augment, seed: int = 0) -> Path:
    """``plot_augmented`` as ``run_dir/augmentation.png`` (the report embeds it)."""
    fig = plot_augmented(X, augment, rng=[seed, 5])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    pyplot().close(fig)
    path = Path(run_dir) / "augmentation.png"
    atomic_write_bytes(path, buffer.getvalue())
    return path
