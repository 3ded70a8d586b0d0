"""A model's architecture as data: each layer's class name and ``config()``, and back.

``architecture(model)`` is what a model file's header stores; ``build(layers)`` makes fresh
layers from it, only from the classes ``cnn_numpy.layers`` exports (a file names classes, it
never carries code).
"""

from __future__ import annotations

from ... import layers as layer_classes
from ...layers.base import Layer
from ...layers.residual import describe
from ...model import Sequential
from .nesting import build_layer, nested_layers


class ModelFileError(ValueError):
    """The file is not a cnn-numpy model, or is damaged, or does not match its architecture."""


def layer_registry() -> dict[str, type[Layer]]:
    """Layer classes by name: every ``Layer`` subclass that ``cnn_numpy.layers`` exports."""
    registry = {}
    for name in getattr(layer_classes, "__all__", dir(layer_classes)):
        obj = getattr(layer_classes, name, None)
        if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer:
            registry[obj.__name__] = obj
    return registry


def unwrapped(model):
    """The model a wrapper such as ``DataParallel`` runs (its ``.module``, as PyTorch users
    save ``model.module``), or ``model`` itself."""
    module = getattr(model, "module", None)
    return module if isinstance(module, Layer) else model


def architecture(model: Sequential) -> list[dict]:
    """``[{"type": "Conv2d", "config": {...}}, ...]``: enough to rebuild the layers (a
    Residual's config describes its branches the same way)."""
    model = unwrapped(model)
    if not isinstance(model, Sequential):
        raise ValueError(
            f"save: the model must be a Sequential (its layers in order), got "
            f"{model!r}; for a single layer, save Sequential(layer)"
        )
    registry = layer_registry()
    for where, layer in nested_layers(model):
        name = type(layer).__name__
        if registry.get(name) is not type(layer) and not isinstance(layer, Sequential):
            raise ValueError(
                f"save: {where} is a {name}, which is not one of the layer "
                f"classes in cnn_numpy.layers ({', '.join(sorted(registry))}), so "
                "it could not be rebuilt when loading (a model file names classes, it never "
                "holds code). To keep the weights, save them alone: "
                "np.savez(path, **model.state_dict()), and load them into the model built "
                "again with your class: model.load_state_dict(dict(np.load(path)))"
            )
    return [describe(layer) for layer in model]


def build(layers: list[dict]) -> Sequential:
    """The inverse of ``architecture``: fresh layers (random weights) from their configs."""
    registry = layer_registry()
    specs = enumerate(layers)
    return Sequential(*[build_layer(s, f"layer {i}", registry, ModelFileError) for i, s in specs])
