"""Export a model to ONNX: one file that onnxruntime runs anywhere and Netron draws.

ONNX describes a network as a graph of standard operators (Conv, Relu, MaxPool, Gemm...)
with the weights stored beside it, so any ONNX runtime can run it without cnn-numpy.
``export_onnx`` writes one node per layer (``onnx_layers.py`` says how), opset 17, with a
dynamic batch axis and the shape of every value between layers, and the model card as
metadata.  It needs the optional ``onnx`` package: ``pip install onnx`` (or, in the checkout,
``pip install -e ".[onnx]"``); ``import cnn_numpy`` never imports it.

float64 models are exported in float32: ONNX runtimes run convolutions in float32
(onnxruntime has no float64 Conv on CPU), so a float64 graph would not run there.  A
warning says so; the outputs then differ from the float64 model's by float32 rounding.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...data.atomic import atomic_write_bytes
from ...layers.base import Layer
from ...model import Sequential
from ..install_hint import install_command
from ..saving.model_files import _to_json, load_with_card, unwrapped

if TYPE_CHECKING:
    from ..speed.parallel import DataParallel

OPSET = 17
IR_VERSION = 8  # the first IR version with opset 17: runtimes from onnxruntime 1.11 on read it


def require_onnx():
    """The ``onnx`` module, or a ModuleNotFoundError saying how to install it."""
    try:
        import onnx
    except ImportError as err:
        raise ModuleNotFoundError(
            f"exporting to ONNX needs the onnx package: {install_command('onnx', extra='onnx')}",
            name="onnx",
        ) from err
    return onnx


def export_onnx(
    model: Sequential | DataParallel | str | os.PathLike,
    path: str | os.PathLike,
    input_shape: tuple[int, ...] | None = None,
    softmax: bool = False,
    metadata: dict | None = None,
) -> Path:
    """Write ``model`` to ``path`` as an ONNX file (opset 17), atomically; returns the path.

    Args:
        model: a ``Sequential`` (a ``DataParallel`` is exported as the model it wraps), or
            the path of a model file saved by ``save`` / ``cnn-numpy train``, whose model card
            then becomes the file's metadata and gives the default ``input_shape``.
        path: the ``.onnx`` file to write.
        input_shape: one example's shape, without the batch axis, e.g. ``(1, 28, 28)``.
        softmax: end with a Softmax over the classes: the output is ``probabilities``
            instead of ``logits``.
        metadata: extra key/value pairs for the file's metadata (Netron shows them).

    Shape: input ``(batch, *input_shape)`` float32 -> ``(batch, num_classes)`` float32, for
    any batch size.  Weights are float32 initializers named by ``state_dict()`` keys.

    Raises ValueError for a layer ONNX export does not know (nothing is written) or an input
    shape the model does not take; ModuleNotFoundError without the ``onnx`` package.

    Example:
        >>> export_onnx(lenet(rng=0), "lenet.onnx", input_shape=(1, 28, 28))  # doctest: +SKIP
    """
    onnx = require_onnx()
    from .onnx_layers import CONVERTERS
    from .onnx_residual import residual  # noqa: F401  (adds Residual to CONVERTERS)

    card: dict = {}
    if isinstance(model, (str, os.PathLike)):
        if Path(path).resolve() == Path(model).resolve():
            raise ValueError(
                f"export_onnx: the ONNX file would overwrite the model file {model}; "
                "choose another name, e.g. model.onnx"
            )
        model, card = load_with_card(model)
        card.pop("layers", None)  # the graph itself shows the layers
    path = checked_output_path(path)
    model = unwrapped(model)  # a DataParallel: the model it runs
    converters = converters_of(model, CONVERTERS)  # before anything else: names the layer
    shapes = layer_shapes(model, card.get("input_shape") if input_shape is None else input_shape)
    props = {**card, **(metadata or {})}
    arrays = [p.data for p in model.parameters()] + [b for _, b in model.named_buffers()]
    if any(array.dtype == np.float64 for array in arrays):
        warnings.warn(
            "export_onnx: the model is float64; it is exported as float32 (ONNX "
            "runtimes run Conv in float32), so its outputs differ by float32 rounding",
            stacklevel=2,
        )
        props["exported_from_dtype"] = "float64"
    proto = build_model(onnx, model, converters, shapes, softmax, props)
    onnx.checker.check_model(proto, full_check=True)  # a file that fails here is never written
    atomic_write_bytes(path, proto.SerializeToString())
    return path


def build_model(
    onnx, model: Sequential, converters: list, shapes: list[tuple], softmax: bool, props: dict
):
    """The ModelProto: one converter call per layer, then the optional Softmax."""
    from .onnx_layers import BATCH, GraphBuilder

    g = GraphBuilder()
    value = "input"
    for i, (layer, convert) in enumerate(zip(model, converters)):
        value = convert(g, layer, str(i), value, shapes[i], shapes[i + 1])
    output = g.rename(value, "logits")
    if softmax:
        output = g.node(
            "Softmax",
            [output],
            "probabilities",
            f"{len(model)}_Softmax",
            shapes[-1],
            "probabilities over the classes, as predict_proba",
            axis=1,
        )
    graph = g.graph(shapes[0], output, shapes[-1])
    graph.input[0].doc_string = describe_input(shapes[0], props)
    graph.output[0].doc_string = describe_output(output, props)
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cnn-numpy",
        producer_version=library_version(),
        doc_string=f"Exported by cnn-numpy {library_version()}; batch axis: {BATCH!r}.",
    )
    onnx.helper.set_model_props(proto, {key: as_text(v) for key, v in props.items()})
    return proto


def checked_output_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"export_onnx: {path} is a folder; give the file to write, e.g. {path / 'model.onnx'}"
        )
    return path


def converters_of(model, converters: dict) -> list:
    """The converter of each layer; ValueError naming the first layer ONNX export does not know."""
    if not isinstance(model, Sequential):
        hint = "; for a single layer, export Sequential(layer)" if isinstance(model, Layer) else ""
        raise ValueError(
            f"export_onnx: the model must be a Sequential (its layers in order), "
            f"got {type(model).__name__}{hint}"
        )
    if len(model) == 0:
        raise ValueError("export_onnx: the model has no layers; there is nothing to export")
    known = ", ".join(sorted(cls.__name__ for cls in converters))
    found = []
    for i, layer in enumerate(model):
        convert = converters.get(type(layer))
        if convert is None:
            raise ValueError(
                f"export_onnx: layer {i} is a {type(layer).__name__} ({layer!r}), which ONNX "
                f"export does not know; it knows {known}. Nothing was written."
            )
        found.append(convert)
    return found


def layer_shapes(model: Sequential, input_shape) -> list[tuple]:
    """The shape flowing into each layer, and out of the last: ``("batch", C, H, W)``..."""
    from .onnx_layers import BATCH

    if input_shape is None:
        raise ValueError(
            "export_onnx: give input_shape, one example's shape without the batch "
            "axis, e.g. input_shape=(1, 28, 28)"
        )
    try:
        input_shape = tuple(int(n) for n in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"export_onnx: input_shape must be whole numbers, e.g. (1, 28, 28), got {input_shape!r}"
        ) from None
    if not input_shape or min(input_shape) < 1:
        raise ValueError(
            f"export_onnx: input_shape must be positive sizes without the batch "
            f"axis, e.g. (1, 28, 28), got {input_shape}"
        )
    shapes = [(1, *input_shape)]
    for i, layer in enumerate(model):
        try:
            shapes.append(tuple(layer.output_shape(shapes[-1])))
        except ValueError as err:
            raise ValueError(
                f"export_onnx: input_shape {input_shape} (one example, without the "
                f"batch axis) does not fit layer {i}: {err}"
            ) from err
    return [(BATCH, *shape[1:]) for shape in shapes]


def describe_input(shape: tuple, props: dict) -> str:
    text = f"float32 {shape}"
    norm = props.get("normalize")
    if isinstance(norm, dict) and {"mean", "std"} <= norm.keys():
        text += f": pixels in [0, 1], then (x - {norm['mean']}) / {norm['std']}, as in training"
    return text


def describe_output(name: str, props: dict) -> str:
    softmax = name == "probabilities"
    text = "probabilities (softmax)" if softmax else "logits (scores before softmax)"
    classes = props.get("class_names")
    return text + (f", one per class: {', '.join(map(str, classes))}" if classes else "")


def as_text(value) -> str:
    """Metadata values are strings in ONNX: text stays, everything else becomes JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=_to_json)


def library_version() -> str:
    from ... import __version__

    return __version__
