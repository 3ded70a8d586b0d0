"""A ``Residual``, an ``AdaptiveAvgPool2d`` and a ``Sequential`` inside a model as ONNX nodes
(added to ``CONVERTERS``).

A Residual becomes its two branches, each layer converted as it would be at the top (keys
``3.block.0``, weights ``3.block.0.weight``: the ``state_dict()`` names), then one ``Add``
node: the sum that is the whole idea.  The identity shortcut is no node at all: the Add reads
the block's input directly.
"""

from __future__ import annotations

from ...layers import AdaptiveAvgPool2d, Residual
from ...model import Sequential
from .onnx_layers import BATCH, CONVERTERS, GraphBuilder, node_name, out_name


def residual(g: GraphBuilder, layer: Residual, key: str, x: str, in_shape, out_shape) -> str:
    ends = []
    for branch, inner in layer.branches():
        ends.append(convert_branch(g, inner, f"{key}.{branch}", x, in_shape))
    if layer.shortcut is None:
        ends.append(x)  # the identity: x itself
    return g.node(
        "Add",
        ends,
        out_name(layer, key),
        node_name(layer, key),
        out_shape,
        "block(x) + shortcut(x)",
    )


def convert_branch(g: GraphBuilder, inner, key: str, x: str, in_shape) -> str:
    """A branch's layers in order (a single layer is a branch of one, keyed ``key`` itself)."""
    layers = list(inner) if isinstance(inner, Sequential) else [inner]
    shape = (1, *in_shape[1:])
    for i, sub in enumerate(layers):
        convert = CONVERTERS.get(type(sub))
        if convert is None:
            raise ValueError(
                f"export_onnx: {key} ({i}) is a {type(sub).__name__} ({sub!r}), which ONNX "
                f"export does not know. Nothing was written."
            )
        out = tuple(sub.output_shape(shape))
        sub_key = f"{key}.{i}" if isinstance(inner, Sequential) else key
        x = convert(g, sub, sub_key, x, (BATCH, *shape[1:]), (BATCH, *out[1:]))
        shape = out
    return x


def sequential(g: GraphBuilder, layer: Sequential, key: str, x: str, in_shape, out_shape) -> str:
    """A Sequential inside the model: its layers in order, keyed ``2.0``, ``2.1``, ... as in
    ``state_dict()``."""
    return convert_branch(g, layer, key, x, in_shape)


def adaptive_avg_pool2d(g: GraphBuilder, layer, key: str, x: str, in_shape, out_shape) -> str:
    """Global average pooling is ONNX's GlobalAveragePool; other sizes are exported only
    where they are an ordinary AveragePool (the size divides the input)."""
    if layer.output_size == (1, 1):
        op, attributes = "GlobalAveragePool", {}
    else:
        (H, W) = in_shape[2:]
        oh, ow = layer.out_size(H, W)
        if H % oh or W % ow:
            raise ValueError(
                f"export_onnx: {layer!r} on {H}x{W} inputs has windows of different sizes, "
                "which ONNX's AveragePool cannot express; use an output size that divides "
                "the input, or 1. Nothing was written."
            )
        kernel = [H // oh, W // ow]
        op, attributes = "AveragePool", dict(kernel_shape=kernel, strides=kernel)
    return g.node(
        op, [x], out_name(layer, key), node_name(layer, key), out_shape, repr(layer), **attributes
    )


CONVERTERS.update(
    {Residual: residual, AdaptiveAvgPool2d: adaptive_avg_pool2d, Sequential: sequential}
)
