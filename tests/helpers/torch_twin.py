"""``to_torch(layer)``: the equivalent torch module with the same parameters and buffers
(float64), for every layer of the library, so whole presets can be compared with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_numpy import (
    AdaptiveAvgPool2d,
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
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
)

torch = pytest.importorskip("torch")
nn = torch.nn


class TorchResidual(nn.Module):
    """``block(x) + shortcut(x)`` with attributes ``block`` and ``shortcut`` (nn.Identity()
    when absent): the module our ``Residual``'s state_dict keys name."""

    def __init__(self, block, shortcut=None):
        super().__init__()
        self.block, self.shortcut = block, shortcut if shortcut is not None else nn.Identity()

    def forward(self, x):
        return self.block(x) + self.shortcut(x)


def to_torch(layer):
    """A float64 torch twin of ``layer`` in the same train/eval mode."""
    f64 = dict(dtype=torch.float64)
    if isinstance(layer, Sequential):
        return nn.Sequential(*[to_torch(sub) for sub in layer]).train(layer.training)
    if isinstance(layer, Residual):
        shortcut = None if layer.shortcut is None else to_torch(layer.shortcut)
        return TorchResidual(to_torch(layer.block), shortcut).train(layer.training)
    if isinstance(layer, Conv2d):
        twin = nn.Conv2d(
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            bias=layer.bias is not None,
            **f64,
        )
    elif isinstance(layer, Linear):
        twin = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None, **f64)
    elif isinstance(layer, (BatchNorm1d, BatchNorm2d)):
        cls = nn.BatchNorm2d if isinstance(layer, BatchNorm2d) else nn.BatchNorm1d
        twin = cls(
            layer.num_features,
            layer.eps,
            layer.momentum,
            layer.affine,
            layer.track_running_stats,
            **f64,
        )
    else:
        simple = {
            AvgPool2d: lambda: nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding),
            MaxPool2d: lambda: nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding),
            LeakyReLU: lambda: nn.LeakyReLU(layer.negative_slope),
            Dropout: lambda: nn.Dropout(layer.p),
            ReLU: nn.ReLU,
            Sigmoid: nn.Sigmoid,
            Tanh: nn.Tanh,
            Flatten: nn.Flatten,
            AdaptiveAvgPool2d: lambda: nn.AdaptiveAvgPool2d(layer.output_size),
        }
        return simple[type(layer)]().train(layer.training)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            getattr(twin, name).copy_(torch.from_numpy(p.data))
        for name, b in layer.named_buffers():
            getattr(twin, name).copy_(torch.from_numpy(np.asarray(b)))
    return twin.train(layer.training)


def run_both(layer, twin, x, g):
    """Forward and backward through both; returns (ours, theirs), each (out, dx)."""
    x_t = torch.tensor(x, requires_grad=True)
    out_t = twin(x_t)
    out_t.backward(torch.from_numpy(g))
    layer.zero_grad()
    out = layer(x)
    return (out, layer.backward(g)), (out_t.detach().numpy(), x_t.grad.numpy())
