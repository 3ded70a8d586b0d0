"""Fully connected layer and Flatten."""

from __future__ import annotations

import numpy as np

from ..checks import cpu_device, flag, float_dtype, torch_defaults, whole
from .base import Layer, Parameter, as_rng, kaiming_uniform, real_input
from .speed import skip_input_grad


class Linear(Layer):
    """y = x @ W.T + b, with ``weight`` of shape (out_features, in_features) as in PyTorch.

    Shape: (N, in_features) -> (N, out_features); as ``torch.nn.Linear``, any leading axes
    too: (*, in_features) -> (*, out_features), each leading position one more row.
    (PyTorch's ``device``: None or 'cpu' only, where NumPy computes.)

    Example:
        >>> Linear(1352, 10, rng=0)(np.zeros((4, 1352))).shape
        (4, 10)
        >>> Linear(8, 3, rng=0)(np.zeros((4, 5, 8))).shape
        (4, 5, 3)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng=None,
        dtype=np.float32,
        *,
        device=None,
    ):
        cpu_device(device, "Linear")
        self.in_features = whole(in_features, "in_features", "Linear", low=1)
        self.out_features = whole(out_features, "out_features", "Linear", low=1)
        bias = flag(bias, "bias", "Linear")
        rng, dtype = as_rng(rng), float_dtype(dtype, "Linear")
        self.weight = Parameter(
            kaiming_uniform((out_features, in_features), in_features, rng, dtype)
        )
        self.bias = (
            Parameter(kaiming_uniform((out_features,), in_features, rng, dtype)) if bias else None
        )
        self.x = None  # the last forward's input, as rows: (M, in_features)
        self.lead = None  # its leading axes, (N,) or (*): M is their product

    def config(self) -> dict:
        return dict(
            in_features=self.in_features,
            out_features=self.out_features,
            bias=self.bias is not None,
            dtype=str(self.weight.data.dtype),
        )

    def extra_repr(self) -> str:
        b = "" if getattr(self, "bias", True) is not None else ", bias=False"
        return f"in_features={self.in_features}, out_features={self.out_features}{b}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] != self.in_features:
            hint = " (add Flatten() before it?)" if len(input_shape) > 2 else ""
            if input_shape == (self.in_features,):
                hint = f"; for one sample use x[None], a batch of one: (1, {self.in_features})"
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.in_features}), or (*, "
                f"{self.in_features}): in_features on the last axis; got shape "
                f"{input_shape}{hint}"
            )
        return *input_shape[:-1], self.out_features

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.output_shape(np.shape(x))
        x = real_input(x, self).astype(self.weight.data.dtype, copy=False)  # (*, in)
        self.lead = x.shape[:-1]
        # (M, in): a view of (N, in) as it is (Flatten's batch-last view too: no copy)
        self.x = x.reshape(-1, self.in_features)
        out = self.x @ self.weight.data.T  # (M, out)
        if self.bias is not None:
            out += self.bias.data
        return out.reshape(*self.lead, self.out_features)  # (*, out)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        shape = None if self.x is None else (*self.lead, self.out_features)
        g = self.check_grad(grad_out, shape).astype(self.weight.data.dtype, copy=False)
        g = g.reshape(-1, self.out_features)  # (M, out)
        self.weight.grad += g.T @ self.x  # (out, in): summed over the M rows
        if self.bias is not None:
            self.bias.grad += g.sum(axis=0)
        if skip_input_grad(self):  # nobody needs dL/dx (see layers/speed.py)
            return None
        return (g @ self.weight.data).reshape(*self.lead, self.in_features)  # (*, in)


class Flatten(Layer):
    """Keep the batch axis, flatten the rest (``torch.nn.Flatten()``).

    Shape: (N, C, H, W) -> (N, C*H*W).  (PyTorch's start_dim and end_dim: their defaults only.)
    """

    x = None  # the last forward's input

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        torch_defaults("Flatten", start_dim=start_dim, end_dim=end_dim)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) < 2:
            raise ValueError(
                f"Flatten() expects at least 2-D input (N, ...), got shape {tuple(input_shape)}"
            )
        return input_shape[0], int(np.prod(input_shape[1:]))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = real_input(x, self)
        return self.x.reshape(self.output_shape(self.x.shape))

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        shape = None if self.x is None else self.output_shape(self.x.shape)
        grad_out = self.check_grad(grad_out, shape)
        # hand the gradient back in x's memory layout (batch last, (C, H, W, N), after a conv
        # or pool, see conv.py): the layers before us then work on one layout, and an
        # elementwise operation on two different layouts is slow
        dx = np.empty_like(self.x, dtype=grad_out.dtype)
        dx[...] = grad_out.reshape(self.x.shape)
        return dx
