"""The features a novelty score reads: what the network computed at a few places ("stages")
on its way to the answer, each boiled down to a short vector.

    a conv block's output (N, C, H, W)  ->  per channel, its mean and std over the image
                                            (N, 2C), and its mean in each quarter (N, 4C)
    the logits (N, classes)             ->  as they are

Why several places: the last layers only know "which digit is this most like"; the first
ones still see *what the picture is made of* (thin strokes, or filled areas, noise, soft
shading), which is where most things that are not digits give themselves away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...layers import Flatten, Linear, ReLU
from ...layers.base import evaluating
from ...train import EVAL_BATCH


@dataclass(frozen=True)
class Stage:
    """Where features are read: the output of layer ``layer`` (``-1``: the model's output,
    the logits), boiled down by ``pooling``:

    * "channels": each channel's mean and std over the image (how much of each pattern the
      layer found, and how unevenly);
    * "grid": each channel's mean in each quarter of the image (where it found it);
    * "flat": the values as they are (for the logits).
    """

    layer: int
    pooling: str


POOLINGS = ("channels", "grid", "flat")


def default_stages(model) -> list[Stage]:
    """Each conv block's ReLU (every ReLU before the first Flatten), and the logits.

    Raises ValueError unless the model is a Sequential ending in a ``Linear`` classifier."""
    layers = getattr(model, "layers", None)
    if not layers or not isinstance(layers[-1], Linear):
        last = type(layers[-1]).__name__ if layers else type(model).__name__
        raise ValueError(
            f"a novelty score needs a model that ends in its classifier, a Linear "
            f"layer giving one logit per class; this model ends with {last}"
        )
    stages = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Flatten):
            break
        if isinstance(layer, ReLU):
            stages += [Stage(i, "channels"), Stage(i, "grid")]
    return [*stages, Stage(-1, "flat")]


def halves(size: int) -> tuple[slice, slice]:
    """The first and second half of ``size`` rows (the middle row in the second when size is
    odd); one row is both halves (a 1x1 map: the last stage of a deep resnet)."""
    cut = size // 2
    return (slice(0, cut), slice(cut, size)) if cut else (slice(0, size), slice(0, size))


def pool(activations: np.ndarray, pooling: str) -> np.ndarray:
    """One stage's activations boiled down to a vector per image.

    Shape: (N, C, H, W) -> (N, 2C) for "channels", (N, 4C) for "grid";
           (N, ...) -> (N, prod(...)) for "flat"
    """
    n = len(activations)
    if pooling == "channels" and activations.ndim == 4:
        maps = activations.reshape(n, activations.shape[1], -1)  # (N, C, H*W)
        return np.concatenate([maps.mean(axis=2), maps.std(axis=2)], axis=1)
    if pooling == "grid" and activations.ndim == 4:
        _, c, h, w = activations.shape
        quarters = [activations[:, :, rows, cols] for rows in halves(h) for cols in halves(w)]
        return np.stack([q.mean(axis=(2, 3)) for q in quarters], axis=2).reshape(n, 4 * c)
    return activations.reshape(n, -1)


def stage_features(
    model,
    X: np.ndarray,
    stages: list[Stage],
    batch_size: int = EVAL_BATCH,
    rows: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Each stage's features, and the logits, for every image (or for ``X[rows]``, in that
    order), in eval mode, in one pass.  Each batch's features are written into arrays made
    once for all the images: no list of pieces to join at the end, no copy of ``X[rows]``.

    Shape: X (N, C, H, W) -> [(M, D_s) for each stage], logits (M, classes); M = len(rows)
    """
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    if len(rows) == 0:
        raise ValueError("novelty features: no images (X has length 0)")
    last = len(model.layers) - 1
    reads = [(s.layer if s.layer >= 0 else last, s.pooling) for s in stages]
    features: list[np.ndarray | None] = [None] * len(stages)
    logits = None
    with evaluating(model):  # afterwards each layer's mode is what it was
        for start in range(0, len(rows), batch_size):
            x = X[rows[start : start + batch_size]]
            done = slice(start, start + len(x))  # where this batch goes in the outputs
            for i, layer in enumerate(model.layers):
                x = layer.forward(x)
                for k, (where, pooling) in enumerate(reads):
                    if where == i:
                        f = pool(x, pooling)
                        features[k] = fill(features[k], done, f, len(rows), np.float32)
            logits = fill(logits, done, x, len(rows), x.dtype)
    return features, logits


def fill(out: np.ndarray | None, done: slice, values: np.ndarray, n: int, dtype) -> np.ndarray:
    """``out[done] = values``; on the first batch, ``out`` is made for all ``n`` images."""
    if out is None:
        out = np.empty((n, *values.shape[1:]), dtype)
    out[done] = values
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits, row by row (shifted by the max: no overflow).

    Shape: (N, C) -> (N, C)
    """
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
