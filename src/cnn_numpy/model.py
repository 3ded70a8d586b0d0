"""``Sequential``: layers applied in order, gradients passed back in reverse order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from .layers.base import Layer, Parameter, check_used_once, training_mode
from .layers.speed import input_grad
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
                raise ValueError(f"Sequential: item {i} is {layer!r}, not a Layer")
        check_used_once("Sequential", *layers)
        self.layers = list(layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int | slice) -> Layer:
        """``model[i]`` is a layer; ``model[a:b]`` a Sequential of those layers (the same
        objects, so it shares their weights), as in PyTorch."""
        if isinstance(i, slice):
            return Sequential(*self.layers[i]).train(self.training)
        return self.layers[i]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [
            f"  ({i}): "
            + repr(layer).replace("\n", "\n  ")  # a Residual's lines indented
            + (f"  # {n:,} parameters" if (n := count(layer)) else "")
            for i, layer in enumerate(self.layers)
        ]
        total = f"  # total: {count(self):,} parameters\n" if self.layers else ""
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

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for i, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                yield f"{i}.{name}", p

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for i, layer in enumerate(self.layers):
            for name, b in layer.named_buffers():
                yield f"{i}.{name}", b

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode = training_mode(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers by PyTorch's names, in PyTorch's order (copies)."""
        state: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                state[f"{i}.{name}"] = p.data.copy()
            for name, b in layer.named_buffers():
                state[f"{i}.{name}"] = np.array(b, copy=True)
        return state

    def load_state_dict(
        self, state: dict[str, np.ndarray], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy arrays in; shapes must agree.  Values are cast to each parameter's dtype (so a
        float64 checkpoint loads into a float32 model).  ``strict=True``: the keys must match
        exactly; ``strict=False``: the keys both have are loaded, the others left alone.
        Returns the ``missing_keys`` (the model's, not in ``state``) and ``unexpected_keys``
        (in ``state``, not the model's), as PyTorch does.  Everything is checked before
        anything is copied: a failed load leaves the model as it was."""
        if not isinstance(strict, bool):
            raise ValueError(f"load_state_dict: strict must be True or False, got {strict!r}")
        arrays = checked_state(state, self.state_dict(), cast=True, strict=strict)
        for i, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                if f"{i}.{name}" in arrays:
                    p.data[...] = arrays[f"{i}.{name}"]
            for name, b in layer.named_buffers():
                if f"{i}.{name}" in arrays:
                    b[...] = arrays[f"{i}.{name}"]
        return incompatible_keys(state, self.state_dict())


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def incompatible_keys(state: dict, expected: dict) -> IncompatibleKeys:
    return IncompatibleKeys(
        [k for k in expected if k not in state], [k for k in state if k not in expected]
    )


def checked_state(
    state: dict, expected: dict[str, np.ndarray], cast: bool, strict: bool = True
) -> dict[str, np.ndarray]:
    """``state``'s arrays, checked against ``expected`` (a ``state_dict()``): the same keys
    (``strict``; else only the keys both have are checked and returned) and shapes, real
    numbers, and the same dtypes (``cast=False``) or cast to them (``cast=True``).
    Raises ValueError naming the first problem."""
    if not isinstance(state, dict):
        raise ValueError(f"a state dict must be a dict of arrays, got {type(state).__name__}")
    missing, unexpected = incompatible_keys(state, expected)
    if strict and (missing or unexpected):
        raise ValueError(
            f"keys do not match the model: missing {missing}, unexpected "
            f"{unexpected} (missing keys are the model's, named as in PyTorch; "
            "strict=False loads the keys both have)"
        )
    arrays = {}
    for key, want in expected.items():
        if key not in state:
            continue  # missing, and not strict
        value = state[key]
        got = as_array(value)
        if got is None or got.dtype.kind not in "biuf":
            raise ValueError(
                f"{key!r} must be an array of real numbers, got "
                f"{type(value).__name__}" + (f" of dtype {got.dtype}" if got is not None else "")
            )
        if got.shape != want.shape or (not cast and got.dtype != want.dtype):
            raise ValueError(
                f"{key!r} has shape {got.shape} and dtype {got.dtype}; the model "
                f"needs shape {want.shape}" + ("" if cast else f" and dtype {want.dtype}")
            )
        arrays[key] = got.astype(want.dtype, copy=False)
    return arrays


def as_array(value) -> np.ndarray | None:
    """``value`` as an ndarray if it is array-like (NumPy's, a list, a number, or anything
    with ``__array__``, such as a CPU ``torch.Tensor`` from ``torch_model.state_dict()``);
    None otherwise."""
    arraylike = isinstance(value, (np.ndarray, list, tuple, int, float, np.generic))
    if not arraylike and not hasattr(value, "__array__"):
        return None
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError):  # e.g. a tensor that requires grad
        return None
