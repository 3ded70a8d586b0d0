"""``Residual``: the skip connection of ResNet, ``y = block(x) + shortcut(x)``.

The whole idea is in ``backward``: the gradient of a sum is passed unchanged to both of its
terms, so the shortcut hands dL/dy straight back to x, however many layers the block holds
(see docs/why-skip-connections-work.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .base import Layer, check_used_once
from .speed import input_grad


class Residual(Layer):
    """``block(x) + shortcut(x)``, the shortcut being the identity when it is None (as the
    residual block of ``torchvision.models.resnet``, with its two branches named).

    Args:
        block: the layers the input goes through (usually a ``Sequential``).
        shortcut: None for the identity, or the layers that match the block's output shape
            (a 1x1 ``Conv2d`` with the block's stride, and a ``BatchNorm2d``, as ResNet's).

    Shape: (N, C, H, W) -> block's output shape; ``shortcut(x)`` must have the same one.

    ``state_dict`` keys are ``block.<name>`` and ``shortcut.<name>`` (``"3.block.0.weight"``
    inside a Sequential), so the arrays load into a torch module with attributes ``block``
    and ``shortcut`` (``nn.Identity()`` when absent): the two branches are layers held as
    attributes, which ``Layer`` walks into for parameters, state and mode (``named_children``).

    Example:
        >>> from cnn_numpy import Conv2d, ReLU, Sequential
        >>> res = Residual(Sequential(Conv2d(4, 4, 3, padding=1, rng=0), ReLU()))
        >>> res(np.zeros((2, 4, 8, 8))).shape
        (2, 4, 8, 8)
    """

    def __init__(self, block: Layer, shortcut: Layer | None = None):
        for name, branch in (("block", block), ("shortcut", shortcut)):
            if not isinstance(branch, Layer) and not (name == "shortcut" and branch is None):
                what = "a Layer" + (" or None (the identity)" if name == "shortcut" else "")
                hint = (
                    "; for several layers: Sequential(*layers)"
                    if isinstance(branch, (list, tuple))
                    else ""
                )
                raise ValueError(f"Residual: {name} must be {what}, got {branch!r:.80}{hint}")
        check_used_once("Residual", block, shortcut)
        self.block, self.shortcut = block, shortcut
        self.out_shape = None  # the last forward's output shape

    def branches(self) -> Iterator[tuple[str, Layer]]:
        """``("block", block)`` and, unless it is the identity, ``("shortcut", shortcut)``."""
        yield "block", self.block
        if self.shortcut is not None:
            yield "shortcut", self.shortcut

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        block = tuple(self.block.output_shape(input_shape))
        skip = tuple(
            input_shape if self.shortcut is None else self.shortcut.output_shape(input_shape)
        )
        self.check_sum(block, skip)
        return block

    def check_sum(self, block: tuple[int, ...], skip: tuple[int, ...]) -> None:
        """The two terms must have one shape: never broadcast (dL/dy would then not fit the
        smaller term's backward)."""
        if tuple(block) != tuple(skip):
            raise ValueError(
                f"Residual: the block's output {tuple(block)} and the shortcut's "
                f"{'(the identity) ' if self.shortcut is None else ''}{tuple(skip)} cannot be "
                "added. Where the block changes the channels or the size, give the shortcut a "
                "1x1 convolution with the block's stride: Residual(block, shortcut=Sequential("
                "Conv2d(C_in, C_out, 1, stride=s, bias=False), BatchNorm2d(C_out)))"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out_shape = self.output_shape(np.shape(x))  # a clear error before any work
        out = self.block.forward(x)
        skip = x if self.shortcut is None else self.shortcut.forward(x)
        self.check_sum(out.shape, np.shape(skip))  # a layer of one's own may lack output_shape
        return out + skip  # the sum

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        grad_out = self.check_grad(grad_out, self.out_shape)
        with input_grad(self.block, self.needs_input_grad):
            # y = block(x) + shortcut(x): dL/dy goes unchanged to both terms of the sum ...
            dx_block = self.block.backward(grad_out)
            dx_skip = grad_out if self.shortcut is None else self.shortcut_backward(grad_out)
        # ... and x fed both, so its two gradients add
        return dx_block + dx_skip if self.needs_input_grad else None

    def shortcut_backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        with input_grad(self.shortcut, self.needs_input_grad):
            return self.shortcut.backward(grad_out)

    def config(self) -> dict:
        shortcut = None if self.shortcut is None else describe(self.shortcut)
        return {"block": describe(self.block), "shortcut": shortcut}

    def __repr__(self) -> str:
        inner = [
            f"  ({name}): " + repr(layer).replace("\n", "\n  ") for name, layer in self.branches()
        ]
        if self.shortcut is None:
            inner.append("  (shortcut): Identity()")
        return "Residual(\n" + "\n".join(inner) + "\n)"


def describe(layer: Layer) -> dict:
    """``{"type": class name, "config": ...}``, what a model file keeps to rebuild ``layer``;
    a Sequential is described by its layers, ``{"layers": [...]}``."""
    if type(layer).__name__ == "Sequential":
        return {"type": "Sequential", "config": {"layers": [describe(sub) for sub in layer]}}
    return {"type": type(layer).__name__, "config": layer.config()}
