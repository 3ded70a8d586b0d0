"""One image through the model, layer by layer: what each layer hands to the next.

The outputs come from the model's own layers, called in order exactly as
``Sequential.forward`` calls them (in eval mode): the page shows what the net computes,
not a second implementation of it.
"""

from __future__ import annotations

import base64

import numpy as np

from ...layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Layer,
    LeakyReLU,
    Linear,
    MaxPool2d,
)
from .residual_view import flat_panels, panel_outputs


def layer_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for the batch ``x``, in order; the last one is the logits.

    Shape: x (N, C, H, W) -> [(N, ...) after layer 0, (N, ...) after layer 1, ...]; a
    Residual's block and shortcut layers come before its sum (see ``residual_view``).

    The caller puts the model in eval mode.  Each output is copied (a layer may hand out a
    view of memory that the next call reuses).
    """
    return panel_outputs(model, flat_panels(model), x)  # a Residual: its layers, then the sum


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits (last axis), shifted by the max so exp cannot overflow."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _size(value: tuple[int, int]) -> str:
    """``(3, 3) -> "3"``, ``(3, 5) -> "(3, 5)"``: PyTorch's short form."""
    return str(value[0]) if value[0] == value[1] else str(tuple(value))


def short_title(layer: Layer) -> str:
    """The layer as one would write it in PyTorch, defaults left out:
    ``Conv2d(1, 16, 3, padding=1)``, ``MaxPool2d(2)``, ``Linear(1568, 128)``."""
    name = type(layer).__name__
    if isinstance(layer, Conv2d):
        args = [str(layer.in_channels), str(layer.out_channels), _size(layer.kernel_size)]
        if layer.stride != (1, 1):
            args.append(f"stride={_size(layer.stride)}")
        if layer.padding != (0, 0):
            args.append(f"padding={_size(layer.padding)}")
        if layer.bias is None:
            args.append("bias=False")
        return f"{name}({', '.join(args)})"
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        args = [_size(layer.kernel_size)]
        if layer.stride != layer.kernel_size:
            args.append(f"stride={_size(layer.stride)}")
        if layer.padding != (0, 0):
            args.append(f"padding={_size(layer.padding)}")
        return f"{name}({', '.join(args)})"
    if isinstance(layer, Linear):
        bias = "" if layer.bias is not None else ", bias=False"
        return f"{name}({layer.in_features}, {layer.out_features}{bias})"
    if isinstance(layer, (BatchNorm1d, BatchNorm2d)):
        return f"{name}({layer.num_features})"
    if isinstance(layer, Dropout):
        return f"{name}({layer.p})"
    if isinstance(layer, LeakyReLU):
        return f"{name}({layer.negative_slope})"
    return repr(layer)


def shape_text(shape: tuple[int, ...]) -> str:
    """``(16, 28, 28) -> "16×28×28"`` (without the batch axis)."""
    return "×".join(str(n) for n in shape)


def describe_layers(model, input_shape: tuple[int, ...]) -> list[dict]:
    """What the page needs to lay out one panel per layer, before any image is drawn.

    ``input_shape`` is one image's, without the batch axis, e.g. ``(1, 28, 28)``.
    """
    shapes, panels = [], []
    for index, panel in enumerate(flat_panels(model)):
        layer = panel.layer
        fed = shapes[panel.input] if panel.input >= 0 else (1, *input_shape)
        shape = fed if panel.terms else layer.output_shape(fed)  # a sum: its terms' shape
        shapes.append(shape)
        panels.append(
            {
                "index": index,
                "path": panel.path,  # "3.block.0" inside a Residual
                "input": panel.input,  # the panel it reads (-1: the image)
                "branch": panel.branch,
                "depth": panel.depth,
                "terms": panel.terms,  # a Residual's sum: the two panels it adds
                "type": type(layer).__name__,
                "title": "Residual: block + shortcut" if panel.terms else short_title(layer),
                "shape": list(shape[1:]),
                "shape_text": shape_text(shape[1:]),
                "conv": isinstance(layer, Conv2d),  # the page offers the kernel view on these
            }
        )
    return panels


def encode_floats(array: np.ndarray) -> str:
    """Base64 of the array as little-endian float32, C order: the page reads it with
    ``new Float32Array(bytes.buffer)``, 4 bytes a number instead of ~10 in JSON text."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def panel_values(output: np.ndarray) -> dict:
    """One layer's output for one image, for its panel: the values, and the colour scale.

    Shape: output (C, H, W) or (D,).  ``signed`` is True when some value is negative
    (before ReLU): the page then draws blue below zero, red above, white at zero, on a scale
    symmetric about zero; otherwise the scale runs from zero (white) to the largest value.
    """
    low, high = float(output.min()), float(output.max())
    return {
        "values": encode_floats(output),
        "low": low,
        "high": high,
        "signed": low < 0,
        "scale": max(abs(low), abs(high)),
    }
