"""``Sequential.summary``: the shapes flowing through a net, and why a layer does not fit."""

from __future__ import annotations

from .layers.base import Layer
from .layers.conv import conv_output_size
from .layers.linear import Flatten
from .layers.residual import Residual


def summary_table(model, input_shape: tuple[int, ...]) -> str:
    """A table of each layer's output shape and parameter count for an input of
    ``input_shape``; ValueError naming the first layer whose input does not fit, and why."""
    shapes = [tuple(input_shape)]  # shapes[i] is layer i's input
    rows = [("", "input", str(shapes[0]), "")]
    for i, layer in enumerate(model.layers):
        shape = shapes[-1]
        try:
            out = layer.output_shape(shape)
        except ValueError as err:
            if isinstance(getattr(layer, "layers", None), list):  # a Sequential inside
                raise ValueError(
                    f"layer ({i}) {row_name(layer)} does not fit its input {shape}: inside "
                    f"it, {inner_error(layer, shape) or err}\nShapes up to layer ({i}):\n"
                    + format_table(rows)
                ) from None
            previous = (model.layers[i - 1], shapes[i - 1]) if i else (None, None)
            why = explain_shape_error(layer, shape, *previous)
            raise ValueError(
                f"layer ({i}) {layer!r} does not fit its input {shape}: {err}"
                + (f"\n  {why}" if why else "")
                + "\nShapes up to there:\n"
                + format_table(rows)
            ) from None
        rows.append((f"({i})", row_name(layer), str(out), f"{count(layer):,}"))
        rows += branch_rows(layer, shape, "  ")
        shapes.append(tuple(out))
    return format_table(rows) + "\n" + f"Total parameters: {count(model):,}"


def inner_error(model, input_shape: tuple[int, ...]) -> str:
    """What ``summary_table`` says of the layer inside ``model`` that does not fit (its
    arithmetic and the shapes inside ``model`` up to it), or "" if none."""
    try:
        summary_table(model, input_shape)
    except ValueError as err:
        return str(err)
    return ""


def row_name(layer: Layer) -> str:
    """A layer's name on its one row: a Residual (whose repr spans lines) by its formula, its
    branches then listed under it; a Sequential inside another by its length."""
    if isinstance(layer, Residual):
        return "Residual: block(x) + shortcut(x)"
    text = repr(layer)
    if "\n" in text and hasattr(layer, "layers"):
        return f"{type(layer).__name__} of {len(layer.layers)} layers (print(model) lists them)"
    return text


def branch_rows(layer: Layer, shape: tuple[int, ...], indent: str) -> list[tuple[str, ...]]:
    """A Residual's two branches, indented under it, each layer with its output shape."""
    if not isinstance(layer, Residual):
        return []
    rows = []
    for branch in ("block", "shortcut"):
        inner = getattr(layer, branch)
        if inner is None:
            rows.append(("", f"{indent}shortcut: identity", str(tuple(shape)), "0"))
            continue
        out = tuple(shape)
        for j, sub in enumerate(getattr(inner, "layers", [inner])):
            out = tuple(sub.output_shape(out))
            index = f" ({j})" if hasattr(inner, "layers") else ""  # as in its state_dict keys
            name = f"{indent}{branch}{index} {row_name(sub)}"
            rows.append(("", name, str(out), f"{count(sub):,}"))
            rows += branch_rows(sub, out, indent + "  ")
    return rows


def format_table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("", "Layer", "Output shape", "Parameters")
    rows = [header, *rows]
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    lines = [
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d:>{widths[3]}}"
        for a, b, c, d in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def explain_shape_error(
    layer: Layer,
    shape: tuple[int, ...],
    previous: Layer | None,
    previous_input: tuple[int, ...] | None,
) -> str:
    """The arithmetic behind a shape mismatch, where there is a formula to show."""
    kernel, stride = getattr(layer, "kernel_size", None), getattr(layer, "stride", None)
    if kernel is not None and stride is not None and len(shape) == 4:
        padding = getattr(layer, "padding", (0, 0))
        return "; ".join(
            f"{axis}_out = floor(({axis} + 2*padding - kernel) / stride) + 1 = "
            f"floor(({size} + 2*{p} - {k}) / {s}) + 1 = {conv_output_size(size, k, s, p)}"
            for axis, size, k, s, p in zip("HW", shape[2:], kernel, stride, padding, strict=True)
        )
    in_features = getattr(layer, "in_features", None)
    if in_features is not None and len(shape) == 2 and isinstance(previous, Flatten):
        return (
            f"Flatten turns {previous_input} into C*H*W = "
            f"{' * '.join(map(str, previous_input[1:]))} = {shape[1]} "
            f"features, but the layer has in_features={in_features}"
        )
    return ""


def count(layer: Layer) -> int:
    """Number of trainable scalars in ``layer``."""
    return sum(p.data.size for p in layer.parameters())
