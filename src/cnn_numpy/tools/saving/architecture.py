"""A model's architecture as data: each layer's class name and ``config()``, and back.

``architecture(model)`` is what a model file's header stores; ``build(layers)`` makes fresh
layers from it, only from the classes ``cnn_numpy.layers`` exports (a file names classes, it
never carries code).
"""

from __future__ import annotations

from ... import layers as layer_classes
from ...layers.base import Layer
from ...model import Sequential


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
    """``[{"type": "Conv2d", "config": {...}}, ...]``: enough to rebuild the layers."""
    model = unwrapped(model)
    if not isinstance(model, Sequential):
        raise ValueError(
            f"save: the model must be a Sequential (its layers in order), got "
            f"{model!r}; for a single layer, save Sequential(layer)"
        )
    registry = layer_registry()
    layers = []
    for i, layer in enumerate(model):
        name = type(layer).__name__
        if registry.get(name) is not type(layer):
            raise ValueError(
                f"save: layer {i} is a {name}, which is not one of the layer "
                f"classes in cnn_numpy.layers ({', '.join(sorted(registry))}), so "
                "it could not be rebuilt when loading"
            )
        layers.append({"type": name, "config": layer.config()})
    return layers


def build(layers: list[dict]) -> Sequential:
    """The inverse of ``architecture``: fresh layers (random weights) from their configs."""
    registry = layer_registry()
    built = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
            raise ModelFileError(
                f"layer {i} is described as {spec!r}, not as {{'type': ..., 'config': {{...}}}}"
            )
        name, config = spec.get("type"), spec.get("config", {})
        if name not in registry:
            raise ModelFileError(
                f"layer {i} has unknown type {name!r}; this version of cnn-numpy "
                f"knows {', '.join(sorted(registry))}"
            )
        try:
            built.append(registry[name](**config))
        except (TypeError, ValueError) as err:
            raise ModelFileError(
                f"layer {i} ({name}) cannot be built from {config}: {err}"
            ) from err
    return Sequential(*built)
