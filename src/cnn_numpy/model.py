"""``Sequential``: layers applied in order, gradients passed back in reverse order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .layers.base import Layer, check_used_once
from .layers.speed import input_grad
from .state import IncompatibleKeys, checked_state, incompatible_keys  # noqa: F401 (their old address)
from .summary import count, summary_table


class Sequential(Layer):
    """A stack of layers, like ``torch.nn.Sequential``.

    ``state_dict()`` keys are ``"<index>.<name>"`` (``"0.weight"``, ``"4.bias"``), exactly
    PyTorch's, so the arrays load into the equivalent ``torch.nn.Sequential``.

    Example:
        >>> from cnn_numpy import Conv2d, ReLU, MaxPool2d, Flatten, Linear
        >>> model = Sequential(Conv2d(1, 8, 3, rng=0), ReLU(), MaxPool2d(2), Flatten(),
        ...                    Linear(8 * 13 * 13, 2, rng=0))
        >>> model(np.zeros((5, 1, 28, 28))).shape
        (5, 2)
    """

    def __init__(self, *layers: Layer):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                hint = {
                    dict: " (named layers, an OrderedDict, are not implemented here: pass the "
                    "layers in order, Sequential(*named.values()); keys are then 0, 1, ...)",
                    list: " (pass the layers themselves: Sequential(*layers))",
                    tuple: " (pass the layers themselves: Sequential(*layers))",
                }
                extra = next((h for kind, h in hint.items() if isinstance(layer, kind)), "")
                raise ValueError(f"Sequential: item {i} is {layer!r:.200}, not a Layer{extra}")
        check_used_once("Sequential", *layers)
        self.layers = list(layers)

    def append(self, layer: Layer) -> Sequential:
        """Add ``layer`` at the end, as ``torch.nn.Sequential.append``; returns the model."""
        self.layers = Sequential(*self.layers, layer).layers  # the same checks as building
        return self

    def insert(self, index: int, layer: Layer) -> Sequential:
        """Put ``layer`` before position ``index``, as ``torch.nn.Sequential.insert``."""
        n = len(self.layers)
        if not isinstance(index, (int, np.integer)) or not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index must be in [{-n}, {n}], got {index!r}")
        at = int(index) + n if index < 0 else int(index)  # -1: before the last, as a list's
        self.layers = Sequential(*self.layers[:at], layer, *self.layers[at:]).layers
        return self

    def extend(self, layers) -> Sequential:
        """Append each of ``layers`` (another Sequential, a list), as PyTorch's ``extend``."""
        self.layers = Sequential(*self.layers, *layers).layers
        return self

    def pop(self, index: int = -1) -> Layer:
        """Remove the layer at ``index`` and return it, as ``torch.nn.Sequential.pop``."""
        layer = self.layers[index]
        del self[index]
        return layer

    def __setitem__(self, i: int, layer: Layer) -> None:
        """``model[-1] = Linear(128, 3)``: replace a layer (a new head), as in PyTorch."""
        layers = list(self.layers)
        layers[i] = layer  # IndexError, TypeError for a bad index, as a list's
        self.layers = Sequential(*layers).layers  # the same checks as building

    def __delitem__(self, i: int | slice) -> None:
        """``del model[i]`` or ``del model[a:b]``; the later layers move up, as in PyTorch."""
        layers = list(self.layers)
        del layers[i]
        self.layers = layers

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int | slice) -> Layer:
        """``model[i]`` is a layer; ``model[a:b]`` a Sequential of those layers (the same
        objects, so it shares their weights), as in PyTorch."""
        if isinstance(i, slice):
            part = Sequential(*self.layers[i])
            part.training = self.training  # its flag only: each layer keeps its own mode
            return part
        return self.layers[i]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        if not self.layers:
            return "Sequential()"  # as torch prints it, not an empty pair of lines
        lines = [
            f"  ({i}): "
            + repr(layer).replace("\n", "\n  ")  # a Residual's lines indented
            + (f"  # {n:,} parameters" if (n := count(layer)) else "")
            for i, layer in enumerate(self.layers)
        ]
        total = f"  # total: {count(self):,} parameters\n"
        return "Sequential(\n" + "\n".join(lines) + "\n" + total + ")"

    def summary(self, input_shape: tuple[int, ...]) -> str:
        """A table of each layer's output shape and parameter count for an input of
        ``input_shape`` (with the batch axis, e.g. ``(1, 1, 28, 28)``): ``print`` it.

        Raises ValueError naming the first layer whose input does not fit, and why.
        """
        return summary_table(self, input_shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if not self.layers:
            return grad_out
        # our first layer's input is ours: it needs dL/dx only if we do (see Layer)
        with input_grad(self.layers[0], self.needs_input_grad):
            for layer in reversed(self.layers):
                grad_out = layer.backward(grad_out)
        return grad_out

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def named_children(self) -> Iterator[tuple[str, Layer]]:
        """``("0", layer)``, ``("1", layer)``...: the layers in order, named by their index, so
        that Layer's walk (parameters, buffers, state, mode) names them ``"0.weight"``, as
        PyTorch's ``state_dict`` does."""
        return ((str(i), layer) for i, layer in enumerate(self.layers))
