"""A model as the page's panels, in the order its layers run: a Residual is drawn as the
layers of its block, then those of its shortcut, then the sum (its own panel).

Each panel knows which panel feeds it (``input``: -1 for the image), so the kernel view of a
conv inside a block reads the block's real input, and the sum names both of its terms.
The outputs are the model's own layers' outputs, caught as each of them runs (the page shows
what the net computes, not a second implementation of it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from ...layers import Layer, Residual
from ...model import Sequential


@dataclass
class Panel:
    layer: Layer
    path: str  # "3", "3.block.0", "3.shortcut.1"
    input: int  # the panel whose output this layer reads; -1: the image
    branch: str = ""  # "block" or "shortcut" inside a Residual; "" at the top
    depth: int = 0  # how many Residuals it sits in
    terms: tuple[int, int] | None = None  # a sum's two inputs (block's end, shortcut's end)


def branch_layers(branch: Layer) -> list[tuple[str, Layer]]:
    if isinstance(branch, Sequential):
        return [(f".{i}", layer) for i, layer in enumerate(branch)]
    return [("", branch)]


def flat_panels(model) -> list[Panel]:
    """Every layer of ``model`` in the order it runs, Residuals opened up (see module doc)."""
    panels: list[Panel] = []

    def walk(layers, prefix: str, source: int, branch: str, depth: int) -> int:
        for suffix, layer in layers:
            path = prefix + suffix
            if isinstance(layer, Residual):
                ends = []
                for name, inner in layer.branches():
                    ends.append(
                        walk(branch_layers(inner), f"{path}.{name}", source, name, depth + 1)
                    )
                if layer.shortcut is None:
                    ends.append(source)  # the identity: the block's own input
                panels.append(Panel(layer, path, ends[0], branch, depth, (ends[0], ends[1])))
            else:
                panels.append(Panel(layer, path, source, branch, depth))
            source = len(panels) - 1
        return source

    walk([(str(i), layer) for i, layer in enumerate(model.layers)], "", -1, "", 0)
    return panels


@contextlib.contextmanager
def caught(panels: list[Panel], outputs: dict[int, np.ndarray]):
    """Within the block, each layer inside a Residual stores its output in ``outputs`` under
    its panel's index as it runs (its ``forward`` shadowed by an instance attribute)."""
    inner = [(k, p.layer) for k, p in enumerate(panels) if p.branch]
    for k, layer in inner:

        def forward(x, k=k, run=layer.forward):
            out = run(x)
            outputs[k] = np.array(out, dtype=np.float32, copy=True)
            return out

        layer.forward = forward
    try:
        yield
    finally:
        for _, layer in inner:
            del layer.forward


def panel_outputs(model, panels: list[Panel], x: np.ndarray) -> list[np.ndarray]:
    """Every panel's output for the batch ``x``; the last one is the logits."""
    outputs: dict[int, np.ndarray] = {}
    top = [k for k, p in enumerate(panels) if not p.branch]
    with caught(panels, outputs):
        for k, layer in zip(top, model.layers, strict=True):
            x = layer.forward(x)
            outputs[k] = np.array(x, dtype=np.float32, copy=True)
    return [outputs[k] for k in range(len(panels))]
