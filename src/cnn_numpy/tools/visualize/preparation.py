"""Pictures of how a photo became the network's 28x28 input: every step of
``preprocess_digit``, from the photo to MNIST's format, the lighting correction included."""

from __future__ import annotations

import numpy as np

from ..photos.fashion import FashionSteps
from ..photos.images import Preprocessed
from .figures import hide_ticks, subplots


def pieces_picture(steps: Preprocessed) -> np.ndarray:
    """What the threshold found, coloured: kept strokes in white, dropped pieces (specks,
    the frame's edge, marks away from the digit) in red, off the sheet darkened.

    Shape: -> (H, W, 3)
    """
    picture = np.zeros((*steps.pieces.shape, 3), dtype=np.float32)
    picture[~steps.sheet] = (0.15, 0.15, 0.25)
    picture[steps.pieces & ~steps.strokes] = (0.9, 0.15, 0.1)
    picture[steps.strokes] = (1.0, 1.0, 1.0)
    return picture


def preparation_panels(steps: Preprocessed | FashionSteps) -> list[tuple[np.ndarray, str, dict]]:
    """``(image, title, imshow keywords)`` for each step, in order."""
    gray = {"cmap": "gray", "vmin": 0, "vmax": 1}
    if isinstance(steps, FashionSteps):  # an article, as Fashion-MNIST's were made
        h, w = steps.trimmed.shape
        how = "ground divided out, negated" if steps.light_ground else "ground subtracted"
        return [
            (
                np.clip(steps.photo, 0, 1),
                f"photo {steps.photo.shape[1]}x{steps.photo.shape[0]}",
                {},
            ),
            (steps.ground, "the ground's light (fitted to the border)", {}),
            (steps.article, how, gray),
            (steps.trimmed, f"trimmed to the article: {w}x{h}", gray),
            (steps.image, "longer side 28, centred", gray),
        ]
    size = f"{steps.photo.shape[1]}x{steps.photo.shape[0]}"
    shrunk = f", shrunk {steps.shrunk_by:.3g}x" if steps.shrunk_by > 1.01 else ""  # 1.04x, 4.9x
    ground = "paper" if steps.inverted else "ground"
    widened = (
        f"strokes widened ({steps.thickened}px max filter)"
        if steps.thickened > 1
        else "cropped (stroke width kept)"
    )
    if steps.as_is:
        return [
            (np.clip(steps.photo, 0, 1), f"image {size}", {}),
            (
                steps.image,
                "already MNIST's format: used as it is" + (" (inverted)" if steps.inverted else ""),
                gray,
            ),
        ]
    return [
        (np.clip(steps.photo, 0, 1), f"photo {size}{shrunk}", {}),
        (steps.background, f"lighting: the bare {ground}", gray),
        (steps.corrected, "lighting divided out", gray),
        (pieces_picture(steps), f"ink >= {steps.limits.low:.2f} (kept / dropped)", {}),
        (steps.ink, "the digit's ink" + (" (inverted)" if steps.inverted else ""), gray),
        (steps.cropped, widened, gray),
        (steps.scaled, f"fit in 20x20: {steps.scaled.shape[0]}x{steps.scaled.shape[1]}", gray),
        (steps.image, "28x28, centre of mass centred", gray),
    ]


def draw_panels(axes, steps: Preprocessed | FashionSteps) -> None:
    """Draw ``preparation_panels(steps)`` into ``axes`` (one per panel; the rest left blank)."""
    axes, panels = list(axes), preparation_panels(steps)
    for ax, (image, title, style) in zip(axes, panels):
        ax.imshow(
            image, interpolation="nearest" if image.shape[0] <= 40 else "antialiased", **style
        )
        ax.set_title(title, fontsize=8)
        hide_ticks(ax)
    for ax in axes[len(panels) :]:
        ax.axis("off")


def plot_preparation(steps: Preprocessed | FashionSteps, title: str | None = None):
    """One figure with every step of ``preprocess_digit``; returns the matplotlib Figure.

    Example:
        >>> steps = preprocess_digit("my_seven.jpg")                      # doctest: +SKIP
        >>> plot_preparation(steps).savefig("steps.png")                  # doctest: +SKIP
    """
    fig, axes = subplots(2, 4, figsize=(12, 6.4))
    draw_panels(axes.ravel(), steps)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
