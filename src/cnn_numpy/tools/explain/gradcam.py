"""Grad-CAM (Selvaraju et al. 2017): where, at one layer's resolution, the evidence for a
class lies.  A = that layer's output (N, K, h, w); each channel k weighs in with αₖ, the
mean over the map of ∂ logit / ∂ Aᵏ; the map is ReLU(Σₖ αₖ Aᵏ)."""

from __future__ import annotations

import numpy as np

from ...layers.base import Layer
from ..input_gradients.backprop import explaining, in_precision_of, input_array, one_hot, targets
from ..saving.architecture import unwrapped


def grad_cam(model, x, target=None, layer=None) -> np.ndarray:
    """ReLU(Σₖ αₖ Aᵏ), αₖ = mean over i, j of ∂ logit[target] / ∂ Aᵏᵢⱼ; shape (N, h, w).

    ``layer``: an index into the ``Sequential`` or one of its layers; default: the last
    top-level layer whose output is a map larger than 1x1 (``map_layer``: for LeNet the
    second MaxPool2d, 7x7; for the ``resnet`` preset the last block's ReLU before the global
    pooling, whose 1x1 output would be a map of one number), else the last 4-D one.
    """
    x, model = input_array(x, "grad_cam"), unwrapped(model)  # a DataParallel's module
    index = layer_index(model, layer, x.shape)
    model = in_precision_of(model, x)
    with explaining(model):
        A = x
        for sub in model.layers[: index + 1]:  # forward to the chosen layer: A (N, K, h, w)
            A = sub.forward(A)
        logits = A
        for sub in model.layers[index + 1 :]:  # and on to the logits
            logits = sub.forward(logits)
        grad = one_hot(targets(target, logits, "grad_cam"), logits)
        for sub in reversed(model.layers[index + 1 :]):  # backward down to A only
            grad = sub.backward(grad)
    alpha = grad.mean(axis=(2, 3), keepdims=True)  # (N, K, 1, 1): each channel's weight
    return np.maximum((alpha * A).sum(axis=1), 0)  # (N, h, w)


def layer_index(model, layer, input_shape: tuple[int, ...]) -> int:
    """The index of ``layer`` (an int or a Layer of ``model``) whose output is 4-D; when
    ``layer`` is None, of the last top-level layer whose output is a map larger than 1x1, or
    with no such layer the last with a 4-D output."""
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        raise ValueError(f"grad_cam: model must be a Sequential, got {type(model).__name__}")
    shapes, shape = [], tuple(input_shape)
    for sub in layers:
        shape = sub.output_shape(shape)
        shapes.append(shape)
    if layer is None:
        found = [i for i, s in enumerate(shapes) if len(s) == 4]
        if not found:
            raise ValueError("grad_cam: the model has no layer with a 4-D output (N, C, h, w)")
        maps = [i for i in found if shapes[i][2] * shapes[i][3] > 1]
        return (maps or found)[-1]
    if isinstance(layer, Layer):
        found = [i for i, sub in enumerate(layers) if sub is layer]
        if not found:
            raise ValueError(f"grad_cam: layer {layer!r} is not a top-level layer of the model")
        index = found[0]
    elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(layers) <= layer < len(layers):
            raise ValueError(
                f"grad_cam: layer {layer} is not in the model (it has {len(layers)} layers, "
                f"0-{len(layers) - 1})"
            )
        index = int(layer) % len(layers)
    else:
        raise ValueError(
            f"grad_cam: layer must be an index, a Layer of the model or None, got {layer!r}"
        )
    if len(shapes[index]) != 4:
        raise ValueError(
            f"grad_cam: layer {index} ({layers[index]!r}) has output shape {shapes[index]}, "
            "not 4-D (N, C, h, w); pick a Conv2d, ReLU or pooling layer"
        )
    return index


def map_layer(model, input_shape: tuple[int, ...]) -> int | None:
    """The layer whose Grad-CAM a picture should show, ``grad_cam``'s default: the last
    top-level layer whose output is a map larger than 1x1 (a ResNet's global pooling ends in
    1x1, where Grad-CAM is one number), or None when there is none."""
    shape, found = tuple(input_shape), None
    for i, sub in enumerate(getattr(model, "layers", [])):
        shape = sub.output_shape(shape)
        if len(shape) == 4 and shape[2] * shape[3] > 1:
            found = i
    return found
