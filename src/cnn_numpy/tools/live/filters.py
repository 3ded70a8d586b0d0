"""The first conv layer's filters, as the page draws them: one small picture per filter.

A grey model's filter (1, kh, kw) is a heat map (red positive, blue negative).  A colour
model's filter (3, kh, kw) is one RGB patch: the page scales each filter on its own to
[0, 1], ``(w - min) / (max - min)``, and shows its red, green and blue weights as the colour
they respond to most (the picture of AlexNet's first layer).
"""

from __future__ import annotations

import numpy as np

from ...layers import Conv2d
from .layers_view import encode_floats


def first_filters(model) -> dict | None:
    """The first Conv2d's weights (F, C, kh, kw) as the page draws them, or None."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, Conv2d):
            weight = np.array(layer.weight.data, dtype=np.float32)  # a copy
            return {"shape": list(weight.shape), "values": weight}
    return None


def filters_json(filters: dict | None) -> dict | None:
    """``first_filters``' answer for JSON: the shape and the weights as base64 float32."""
    if filters is None:
        return None
    return {"shape": filters["shape"], "values": encode_floats(filters["values"])}


def first_filters_json(model) -> dict | None:
    return filters_json(first_filters(model))
