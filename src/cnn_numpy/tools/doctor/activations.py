"""What each layer puts out: statistics of the activations, for the doctor and the monitor.

One forward pass, layer by layer, keeps every layer's output; ``activation_stats`` sums each
up the way Karpathy's makemore lessons look at a network: mean, std, a histogram, and for the
nonlinearities the two ways they stop passing gradient, ReLUs that output 0 and tanh/sigmoid
outputs stuck at their limits.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from ...layers import ReLU, Sigmoid, Tanh
from ...layers.base import Layer
from ...layers.residual import Residual
from ...model import Sequential
from .thresholds import TANH_LIMIT

#: histogram bins per layer
BINS = 40


def model_layers(model) -> list[Layer]:
    """The layers of a Sequential (or the model itself, if it has no ``layers``)."""
    return list(model.layers) if hasattr(model, "layers") else [model]


def layer_label(index: int, layer: Layer) -> str:
    return f"{index}: {type(layer).__name__}"


def layer_outputs(model, x: np.ndarray) -> list[tuple[str, Layer, np.ndarray]]:
    """``(label, layer, output)`` for every layer, from one forward pass of ``x`` in the
    model's current mode (what ``Sequential.forward`` computes, one layer at a time).  A
    Residual's inner layers come first (``3.block.0: Conv2d``...), then its sum (``3: Residual``)."""
    outputs = []
    for i, layer in enumerate(model_layers(model)):
        with inner_outputs(layer, str(i), outputs):
            x = layer.forward(x)
        outputs.append((layer_label(i, layer), layer, x))
    return outputs


@contextlib.contextmanager
def inner_outputs(layer: Layer, key: str, outputs: list):
    """Within the block, each layer inside the Residual ``layer`` appends its output to
    ``outputs`` as it runs (its ``forward`` shadowed by an instance attribute, removed after)."""
    watched = list(nested(layer, key))
    for label, inner in watched:

        def forward(x, inner=inner, label=label, run=inner.forward):
            out = run(x)
            outputs.append((label, inner, out))
            return out

        inner.forward = forward
    try:
        yield
    finally:
        for _, inner in watched:
            del inner.forward


def nested(layer: Layer, key: str):
    """``("3.block.0: Conv2d", layer)`` for the layers inside a Residual, in the order they run."""
    for branch, inner in layer.branches() if isinstance(layer, Residual) else ():
        subs = list(inner) if isinstance(inner, Sequential) else [inner]
        for j, sub in enumerate(subs):
            here = f"{key}.{branch}" + (f".{j}" if isinstance(inner, Sequential) else "")
            yield from nested(sub, here)
            yield f"{here}: {type(sub).__name__}", sub


def sample(values: np.ndarray, max_values: int) -> np.ndarray:
    """An evenly spread sample of at most ``max_values`` entries (all of them if fewer), as
    float64.  Shape: any -> (M,)."""
    flat = np.asarray(values).reshape(-1)
    step = max(1, math.ceil(flat.size / max_values))
    return flat[::step].astype(np.float64)


def saturated_fraction(layer: Layer, out: np.ndarray) -> float | None:
    """Fraction of tanh outputs with |t| > 0.97, or of sigmoid outputs within 0.015 of 0 or 1
    (the same zone: tanh(x) = 2 sigmoid(2x) - 1); None for other layers."""
    if isinstance(layer, Tanh):
        return float(np.mean(np.abs(out) > TANH_LIMIT))
    if isinstance(layer, Sigmoid):
        return float(np.mean(np.abs(2 * out - 1) > TANH_LIMIT))
    return None


def unit_activity(out: np.ndarray) -> np.ndarray:
    """Per unit, the fraction of inputs on which it is active (> 0): for images (N, C, H, W)
    per filter over samples and positions, for vectors (N, F) per feature over samples.
    A unit with activity 0 is dead on this batch.  Shape: (N, C, ...) -> (C,)."""
    axes = (0,) + tuple(range(2, out.ndim))
    return np.mean(out > 0, axis=axes, dtype=np.float64)


def activation_stats(
    label: str, layer: Layer, out: np.ndarray, max_values: int = 1_000_000
) -> dict:
    """Mean, std, histogram (``BINS`` counts over ``range``), the fraction of exact zeros and,
    for Tanh/Sigmoid, the saturated fraction, of one layer's output; for ReLU, also the
    activity of each unit (``unit_activity``).  Computed on an evenly spread sample of at most
    ``max_values`` values (the monitor samples to stay cheap).  JSON-friendly."""
    values = sample(out, max_values)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    counts, _ = np.histogram(finite, bins=BINS, range=(low, high if high > low else low + 1))
    stats = {
        "label": label,
        "kind": type(layer).__name__,
        "shape": list(out.shape[1:]),
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "zeros": float(np.mean(values == 0)),
        "hist": counts.tolist(),
        "range": [low, high],
        "saturated": saturated_fraction(layer, values),
    }
    if isinstance(layer, ReLU) and out.ndim >= 2:
        stats["activity"] = unit_activity(out).tolist()
    return stats
