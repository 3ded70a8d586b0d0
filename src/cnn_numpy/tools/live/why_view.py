"""The page's "why" view: Grad-CAM and saliency of the answer, for the drawing as it is now.

Both come from ``cnn_numpy.explain`` (one more backward pass, through the model's own
layers).  Grad-CAM is at the last layer whose output is a map larger than 1x1 (for LeNet 7x7: the page stretches
it over the 28x28 input); saliency is |∂ logit / ∂ pixel| at the input's resolution.
"""

from __future__ import annotations

import numpy as np

from ..explain import grad_cam, saliency
from ..explain.gradcam import map_layer
from .layers_view import encode_floats


def why(model, x: np.ndarray, target: int) -> dict:
    """``{"target", "gradcam": {shape, values, max} or None, "saliency": {...}}`` for the
    prepared input x (1, C, H, W), grey or colour (saliency: the largest over the channels);
    the caller holds the model's lock."""
    maps = {"saliency": np.abs(saliency(model, x, target)).max(axis=1)[0]}  # (H, W)
    try:
        maps["gradcam"] = grad_cam(model, x, target, map_layer(model, x.shape))[0]  # (h, w)
    except ValueError:  # no layer with a 4-D output (a net of Linear layers only)
        maps["gradcam"] = None
    return {
        "target": int(target),
        **{
            name: None
            if heat is None
            else {
                "shape": list(heat.shape),
                "values": encode_floats(heat),
                "max": float(heat.max()),
            }
            for name, heat in maps.items()
        },
    }
