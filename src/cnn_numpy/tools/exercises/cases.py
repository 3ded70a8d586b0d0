"""The grader's test cases: random float64 inputs of awkward sizes, and the answers of the
library's own layers and optimizers for them.

Each ``Case`` holds a function's arguments, the outputs it must return (``expected``, by
name, in the order the function returns them) and, for a layer, the upstream gradient
``dout`` with the gradients its backward must return (``grads``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...layers import BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU
from ...layers.base import Parameter
from ...losses import CrossEntropyLoss
from ...optim import SGD, Adam


@dataclass
class Case:
    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)  # outputs of the function (or forward)
    dout: np.ndarray | None = None
    grads: dict = field(default_factory=dict)  # outputs of the backward, by name


def run_layer(layer, x, dout, params=()) -> tuple[np.ndarray, list[np.ndarray]]:
    """The layer's output and its gradients (dx first, then each parameter's)."""
    out = layer.forward(x)
    dx = layer.backward(dout)
    return np.array(out), [np.array(dx)] + [p.grad.copy() for p in params]


def relu_cases(rng) -> list[Case]:
    shapes = [(3, 4), (2, 3, 5, 7), (1, 1, 3, 3)]
    cases = []
    for shape in shapes:
        x = rng.standard_normal(shape)
        x.flat[:: max(1, x.size // 3)] = 0.0  # exact zeros: the gradient there is 0
        dout = rng.standard_normal(shape)
        out, (dx,) = run_layer(ReLU(), x, dout)
        cases.append(Case(f"x of shape {shape}", (x,), {}, {"out": out}, dout, {"dx": dx}))
    return cases


def linear_cases(rng) -> list[Case]:
    cases = []
    for n, fan_in, fan_out in [(4, 5, 3), (1, 7, 2), (3, 1, 4)]:
        x, w, b = (
            rng.standard_normal((n, fan_in)),
            rng.standard_normal((fan_out, fan_in)),
            (rng.standard_normal(fan_out)),
        )
        layer = Linear(fan_in, fan_out, dtype=np.float64)
        layer.weight.data[...], layer.bias.data[...] = w, b
        dout = rng.standard_normal((n, fan_out))
        out, (dx, dw, db) = run_layer(layer, x, dout, [layer.weight, layer.bias])
        label = f"x ({n}, {fan_in}), weight ({fan_out}, {fan_in})"
        grads = {"dx": dx, "dweight": dw, "dbias": db}
        cases.append(Case(label, (x, w, b), {}, {"out": out}, dout, grads))
    return cases


#: (N, C, H, W, F, kh, kw, stride, padding): odd and non-square sizes, batch 1, stride 2,
#: padding 1 and 2, a non-square kernel
CONV_SHAPES = [
    (2, 3, 7, 5, 4, 3, 3, 1, 0),
    (1, 2, 8, 9, 3, 3, 3, 2, 1),
    (2, 2, 5, 6, 3, 3, 2, 1, 2),
    (1, 3, 6, 7, 2, 3, 3, 1, 1),
    (3, 1, 9, 7, 2, 5, 3, 2, 2),
]


def conv2d_cases(rng) -> list[Case]:
    cases = []
    for n, c, h, w, f, kh, kw, stride, padding in CONV_SHAPES:
        x, weight = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, kh, kw))
        bias = rng.standard_normal(f)
        layer = Conv2d(c, f, (kh, kw), stride, padding, dtype=np.float64)
        layer.weight.data[...], layer.bias.data[...] = weight, bias
        dout = rng.standard_normal(layer.output_shape(x.shape))
        out, (dx, dw, db) = run_layer(layer, x, dout, [layer.weight, layer.bias])
        label = (
            f"x ({n}, {c}, {h}, {w}), weight ({f}, {c}, {kh}, {kw}), stride {stride}, "
            f"padding {padding}"
        )
        kwargs = {"stride": stride, "padding": padding}
        grads = {"dx": dx, "dweight": dw, "dbias": db}
        cases.append(Case(label, (x, weight, bias), kwargs, {"out": out}, dout, grads))
    return cases


#: (N, C, H, W, kernel_size, stride); the last one has ties (a ReLU's zeros)
POOL_SHAPES = [(2, 3, 6, 8, 2, 2), (1, 2, 7, 9, 3, 2), (2, 1, 7, 7, 3, 3), (2, 2, 6, 6, 2, 2)]


def maxpool2d_cases(rng) -> list[Case]:
    cases = []
    for k, (n, c, h, w, size, stride) in enumerate(POOL_SHAPES):
        x = rng.standard_normal((n, c, h, w))
        tied = k == len(POOL_SHAPES) - 1
        if tied:
            x = np.maximum(x, 0) * (rng.random(x.shape) < 0.5)  # many equal zeros per window
        layer = MaxPool2d(size, stride)
        dout = rng.standard_normal(layer.output_shape(x.shape))
        out, (dx,) = run_layer(layer, x, dout)
        label = f"x ({n}, {c}, {h}, {w}), kernel_size {size}, stride {stride}" + (
            ", tied maxima (zeros after a ReLU)" if tied else ""
        )
        kwargs = {"kernel_size": size, "stride": stride}
        cases.append(Case(label, (x,), kwargs, {"out": out}, dout, {"dx": dx}))
    return cases


def softmax_cross_entropy_cases(rng) -> list[Case]:
    cases = []
    for n, classes, scale in [(4, 3, 1.0), (1, 10, 2.0), (5, 7, 1.0), (3, 4, 1000.0)]:
        logits = rng.standard_normal((n, classes)) * scale
        labels = rng.integers(0, classes, n)
        loss_fn = CrossEntropyLoss()
        loss = loss_fn(logits, labels)
        label = f"logits ({n}, {classes})" + (" of size about 1000" if scale > 100 else "")
        expected = {"loss": np.array(loss), "dlogits": loss_fn.backward()}
        cases.append(Case(label, (logits, labels), {}, expected))
    return cases


def batchnorm2d_cases(rng) -> list[Case]:
    cases = []
    for n, c, h, w, eps in [(4, 3, 5, 6, 1e-5), (2, 2, 3, 3, 1e-5), (1, 4, 3, 5, 1e-3)]:
        x = rng.standard_normal((n, c, h, w)) * 2 + 0.5
        gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
        layer = BatchNorm2d(c, eps=eps, dtype=np.float64)
        layer.weight.data[...], layer.bias.data[...] = gamma, beta
        dout = rng.standard_normal(x.shape)
        out, (dx, dgamma, dbeta) = run_layer(layer, x, dout, [layer.weight, layer.bias])
        label = f"x ({n}, {c}, {h}, {w}), eps {eps:g}"
        grads = {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}
        cases.append(Case(label, (x, gamma, beta), {"eps": eps}, {"out": out}, dout, grads))
    return cases


def sgd_cases(rng) -> list[Case]:
    cases = []
    for shape, lr, momentum, decay in [
        ((3, 4), 0.1, 0.0, 0.0),
        ((5,), 0.05, 0.9, 0.0),
        ((2, 3, 3), 0.01, 0.0, 0.1),
        ((4, 2), 0.03, 0.9, 0.01),
    ]:
        param, grad = rng.standard_normal(shape), rng.standard_normal(shape)
        velocity = rng.standard_normal(shape) if momentum else np.zeros(shape)
        p = Parameter(param.copy())
        p.grad[...] = grad
        sgd = SGD([p], lr=lr, momentum=momentum, weight_decay=decay)
        sgd.buffers[0] = velocity.copy() if momentum else None
        sgd.step()
        new_velocity = sgd.buffers[0] if momentum else grad + decay * param  # momentum 0: g
        label = f"param {shape}, lr {lr}, momentum {momentum}, weight_decay {decay}"
        args = (param, grad, velocity, lr)
        kwargs = {"momentum": momentum, "weight_decay": decay}
        cases.append(Case(label, args, kwargs, {"new_param": p.data, "new_velocity": new_velocity}))
    return cases


def adam_cases(rng) -> list[Case]:
    cases = []
    for shape, t, lr, betas, eps in [
        ((3, 4), 1, 0.01, (0.9, 0.999), 1e-8),
        ((5,), 3, 0.001, (0.9, 0.999), 1e-8),
        ((2, 3), 10, 0.1, (0.8, 0.99), 1e-3),  # a large eps: inside or outside the sqrt shows
    ]:
        param, grad = rng.standard_normal(shape), rng.standard_normal(shape)
        first = t == 1
        m = np.zeros(shape) if first else rng.standard_normal(shape) * 0.1
        v = np.zeros(shape) if first else rng.random(shape) * 0.1
        p = Parameter(param.copy())
        p.grad[...] = grad
        adam = Adam([p], lr=lr, betas=betas, eps=eps)
        adam.m[0][...], adam.v[0][...], adam.t = m, v, t - 1
        adam.step()
        label = f"param {shape}, step t={t}, lr {lr}, betas {betas}, eps {eps:g}"
        expected = {"new_param": p.data, "new_m": adam.m[0], "new_v": adam.v[0]}
        args = (param, grad, m, v, t, lr)
        cases.append(Case(label, args, {"betas": betas, "eps": eps}, expected))
    return cases


MAKERS = {
    "relu": relu_cases,
    "linear": linear_cases,
    "softmax_cross_entropy": softmax_cross_entropy_cases,
    "sgd": sgd_cases,
    "conv2d": conv2d_cases,
    "maxpool2d": maxpool2d_cases,
    "batchnorm2d": batchnorm2d_cases,
    "adam": adam_cases,
}


def cases_for(exercise: str, seed: int = 0) -> list[Case]:
    """The exercise's cases, the same every run for a seed."""
    return MAKERS[exercise](np.random.default_rng([seed, list(MAKERS).index(exercise)]))
