"""Layers inside layers: a ``Residual``'s branches, the ``Sequential`` inside them.

A model file describes such a layer by nesting: ``{"type": "Residual", "config": {"block":
{"type": "Sequential", "config": {"layers": [...]}}, "shortcut": ... or None}}`` (see
``Residual.config``); these walk a model and rebuild one from that description.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...layers.base import Layer
from ...layers.residual import Residual
from ...model import Sequential


def nested_layers(model: Sequential, where: str = "layer") -> Iterator[tuple[str, Layer]]:
    """``("layer 3 block (0)", layer)`` for every layer of ``model``, inside Residuals and
    Sequentials too."""
    for i, layer in enumerate(model):
        here = f"{where} {i}" if where == "layer" else f"{where} ({i})"
        yield here, layer
        if isinstance(layer, Sequential):  # a Sequential inside the model: "layer 0 (1)"
            yield from nested_layers(layer, here)
        if isinstance(layer, Residual):
            for branch, inner in layer.branches():
                yield f"{here} {branch}", inner
                if isinstance(inner, Sequential):
                    yield from nested_layers(inner, f"{here} {branch}")


def build_layer(spec, where: str, registry: dict, error: type[Exception]) -> Layer:
    """A fresh layer (random weights) from its ``{"type", "config"}``, what it nests built
    first; ``error`` (naming ``where``) if the description is not one this version builds."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
        raise error(f"{where} is described as {spec!r}, not as {{'type': ..., 'config': {{...}}}}")
    name, config = spec.get("type"), spec.get("config", {})
    if name == "Sequential" and isinstance(config.get("layers"), list):
        inner = enumerate(config["layers"])
        return Sequential(*[build_layer(s, f"{where} ({i})", registry, error) for i, s in inner])
    if name not in registry:
        raise error(
            f"{where} has unknown type {name!r}; this version of cnn-numpy "
            f"knows {', '.join(sorted(registry))}"
        )
    if name == "Residual" and isinstance(config.get("block"), dict):
        shortcut = config.get("shortcut")
        config = {
            "block": build_layer(config["block"], f"{where} block", registry, error),
            "shortcut": None
            if shortcut is None
            else build_layer(shortcut, f"{where} shortcut", registry, error),
        }
    try:
        return registry[name](**config)
    except (TypeError, ValueError) as err:
        raise error(f"{where} ({name}) cannot be built from {config}: {err}") from err
