"""How each cnn-numpy layer becomes ONNX nodes (opset 17), one small function per layer.

This module imports ``onnx``; ``to_onnx.export_onnx`` imports it only when asked to export,
so ``import cnn_numpy`` never needs the optional package.

Names are chosen to read well in Netron: the node for layer 3 is ``3_BatchNorm2d``, its
output value ``3_BatchNorm2d_out``, its weights the ``state_dict()`` keys (``3.weight``,
``3.running_mean``...).  Every value gets its shape (``value_info``), batch axis ``batch``,
so Netron draws the shape on every edge.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ...layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)

BATCH = "batch"  # the symbolic name of the (dynamic) batch axis


class GraphBuilder:
    """Collects nodes, initializers (the weights, as float32) and value shapes."""

    def __init__(self):
        self.nodes, self.initializers, self.value_info = [], [], []

    def weight(self, name: str, array: np.ndarray) -> str:
        """Add ``array`` (cast to float32) as an initializer called ``name``; returns the name."""
        data = np.asarray(array, dtype=np.float32)
        self.initializers.append(numpy_helper.from_array(data, name))
        return name

    def node(
        self,
        op: str,
        inputs: list[str],
        output: str,
        name: str,
        shape: tuple,
        doc: str = "",
        **attributes,
    ) -> str:
        """Add one ``op`` node writing ``output``, of ``shape`` (an int or ``BATCH`` per axis)."""
        self.nodes.append(
            helper.make_node(op, inputs, [output], name=name, doc_string=doc, **attributes)
        )
        self.value_info.append(tensor(output, shape))
        return output

    def rename(self, old: str, new: str) -> str:
        """Call the value ``old`` ``new`` (e.g. the last layer's output ``logits``)."""
        for node in self.nodes:
            node.output[:] = [new if name == old else name for name in node.output]
        for info in self.value_info:
            if info.name == old:
                info.name = new
        return new

    def graph(self, input_shape: tuple, output: str, output_shape: tuple):
        """The GraphProto from ``input`` to ``output``, every value between them with its shape."""
        inner = [info for info in self.value_info if info.name != output]
        return helper.make_graph(
            self.nodes,
            "cnn-numpy",
            [tensor("input", input_shape)],
            [tensor(output, output_shape)],
            initializer=self.initializers,
            value_info=inner,
        )


def tensor(name: str, shape: tuple):
    """A float32 value of ``shape``; ``BATCH`` marks the dynamic batch axis."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


# Each converter: (graph, layer, key, x, in_shape, out_shape) -> the name of the output value.
# ``key`` is the layer's index in the Sequential ("3"); shapes have BATCH in front.


def conv2d(g: GraphBuilder, layer: Conv2d, key: str, x: str, in_shape, out_shape) -> str:
    inputs = [x, g.weight(f"{key}.weight", layer.weight.data)]  # (C_out, C_in, kh, kw)
    if layer.bias is not None:
        inputs.append(g.weight(f"{key}.bias", layer.bias.data))
    ph, pw = layer.padding
    return g.node(
        "Conv",
        inputs,
        out_name(layer, key),
        node_name(layer, key),
        out_shape,
        repr(layer),
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        pads=[ph, pw, ph, pw],
        dilations=[1, 1],
        group=1,
    )


def max_pool2d(g: GraphBuilder, layer: MaxPool2d, key: str, x: str, in_shape, out_shape) -> str:
    ph, pw = layer.padding  # ONNX's MaxPool pads with -inf too
    return g.node(
        "MaxPool",
        [x],
        out_name(layer, key),
        node_name(layer, key),
        out_shape,
        repr(layer),
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        pads=[ph, pw, ph, pw],
        ceil_mode=0,
    )


def avg_pool2d(g: GraphBuilder, layer: AvgPool2d, key: str, x: str, in_shape, out_shape) -> str:
    ph, pw = layer.padding
    # count_include_pad=1: the zero padding counts in the mean, as PyTorch's default and ours
    return g.node(
        "AveragePool",
        [x],
        out_name(layer, key),
        node_name(layer, key),
        out_shape,
        repr(layer),
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        pads=[ph, pw, ph, pw],
        count_include_pad=1,
        ceil_mode=0,
    )


def elementwise(op: str, **attributes):
    """A converter for an activation: one ``op`` node, the shape unchanged."""

    def convert(g: GraphBuilder, layer, key: str, x: str, in_shape, out_shape) -> str:
        values = {name: value(layer) for name, value in attributes.items()}
        return g.node(
            op, [x], out_name(layer, key), node_name(layer, key), out_shape, repr(layer), **values
        )

    return convert


def flatten(g: GraphBuilder, layer: Flatten, key: str, x: str, in_shape, out_shape) -> str:
    return g.node(
        "Flatten", [x], out_name(layer, key), node_name(layer, key), out_shape, repr(layer), axis=1
    )


def linear(g: GraphBuilder, layer: Linear, key: str, x: str, in_shape, out_shape) -> str:
    inputs = [x, g.weight(f"{key}.weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(g.weight(f"{key}.bias", layer.bias.data))
    name, out, doc = node_name(layer, key), out_name(layer, key), repr(layer)
    if len(in_shape) == 2:  # Gemm: Y = X @ B.T + C with transB=1, weight (out, in)
        return g.node("Gemm", inputs, out, name, out_shape, doc, transB=1)
    # (*, in): Gemm takes 2-D only, so y[..., o] = sum_i x[..., i] W[o, i] (Einsum), then + b
    if layer.bias is None:
        return g.node("Einsum", inputs, out, name, out_shape, doc, equation="...i,oi->...o")
    product = g.node("Einsum", inputs[:2], f"{name}_product", f"{name}_product", out_shape,
                     doc, equation="...i,oi->...o")  # fmt: skip
    return g.node("Add", [product, inputs[2]], out, name, out_shape, doc)


def dropout(g: GraphBuilder, layer: Dropout, key: str, x: str, in_shape, out_shape) -> str:
    # without a training_mode input ONNX's Dropout is the identity, as ours in eval mode;
    # the ratio is kept so the graph shows what the layer was
    ratio = g.weight(f"{key}.p", np.asarray(layer.p))
    return g.node(
        "Dropout", [x, ratio], out_name(layer, key), node_name(layer, key), out_shape, repr(layer)
    )


def batch_norm(g: GraphBuilder, layer, key: str, x: str, in_shape, out_shape) -> str:
    C = layer.num_features
    if layer.affine:
        scale, shift = ("weight", layer.weight.data), ("bias", layer.bias.data)
    else:  # affine=False: y = x_hat, i.e. a scale of 1 and a shift of 0
        scale, shift = ("unit_scale", np.ones(C)), ("zero_shift", np.zeros(C))
    if not layer.track_running_stats:
        return batch_norm_from_batch(g, layer, key, x, in_shape, scale, shift)
    inputs = [
        x,
        g.weight(f"{key}.{scale[0]}", scale[1]),
        g.weight(f"{key}.{shift[0]}", shift[1]),
        g.weight(f"{key}.running_mean", layer.running_mean),
        g.weight(f"{key}.running_var", layer.running_var),
    ]
    # ONNX's momentum weighs the old running value (ours the new batch); used only in training
    attributes = {} if layer.momentum is None else {"momentum": 1.0 - layer.momentum}
    # inference form: y = scale * (x - running_mean) / sqrt(running_var + eps) + shift
    return g.node(
        "BatchNormalization",
        inputs,
        out_name(layer, key),
        node_name(layer, key),
        out_shape,
        repr(layer),
        epsilon=layer.eps,
        **attributes,
    )


def batch_norm_from_batch(
    g: GraphBuilder, layer, key: str, x: str, in_shape, scale: tuple, shift: tuple
) -> str:
    """``track_running_stats=False``: the statistics of the batch itself, in eval mode too.

    ONNX's BatchNormalization does that only in training mode, which runtimes built for
    inference do not run, so the formula is spelled out, over every axis but C:
        y = (x - mean) / sqrt(mean((x - mean)**2) + eps) * scale + shift
    ``scale`` and ``shift`` are (name, array) pairs.
    """
    name, C, rank = node_name(layer, key), layer.num_features, len(in_shape)
    axes = [0, *range(2, rank)]  # every axis but the channels
    stat_shape = (1, C) + (1,) * (rank - 2)  # (1, C, 1, 1) for images
    per_channel = (C,) + (1,) * (rank - 2)  # scale and shift as (C, 1, 1)
    scale = g.weight(f"{key}.{scale[0]}", scale[1].reshape(per_channel))
    shift = g.weight(f"{key}.{shift[0]}", shift[1].reshape(per_channel))
    eps = g.weight(f"{key}.eps", np.asarray(layer.eps))

    def step(op, inputs, what, shape, **attributes):
        return g.node(op, inputs, f"{name}_{what}", f"{name}_{what}", shape, **attributes)

    mean = step("ReduceMean", [x], "mean", stat_shape, axes=axes, keepdims=1)
    centered = step("Sub", [x, mean], "centered", in_shape)
    squared = step("Mul", [centered, centered], "squared", in_shape)
    var = step("ReduceMean", [squared], "var", stat_shape, axes=axes, keepdims=1)  # biased
    std = step("Sqrt", [step("Add", [var, eps], "var_eps", stat_shape)], "std", stat_shape)
    x_hat = step("Div", [centered, std], "x_hat", in_shape)
    scaled = step("Mul", [x_hat, scale], "scaled", in_shape)
    return g.node(
        "Add",
        [scaled, shift],
        out_name(layer, key),
        name,
        in_shape,
        repr(layer) + ": batch statistics (track_running_stats=False)",
    )


def node_name(layer, key: str) -> str:
    return f"{key}_{type(layer).__name__}"


def out_name(layer, key: str) -> str:
    return f"{node_name(layer, key)}_out"


#: exact classes only: a subclass may compute something else, so it is not exported as its parent
CONVERTERS = {
    Conv2d: conv2d,
    MaxPool2d: max_pool2d,
    AvgPool2d: avg_pool2d,
    Flatten: flatten,
    Linear: linear,
    Dropout: dropout,
    BatchNorm2d: batch_norm,
    BatchNorm1d: batch_norm,
    ReLU: elementwise("Relu"),
    Sigmoid: elementwise("Sigmoid"),
    Tanh: elementwise("Tanh"),
    LeakyReLU: elementwise("LeakyRelu", alpha=lambda layer: layer.negative_slope),
}
