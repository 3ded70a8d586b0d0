"""The classic mistakes the grader names when it sees them.

Each is what a function would return with that one mistake in it, computed on the grader's
case, next to a message that says what is wrong and how to fix it.  ``Mistake.outputs(case)``
gives the wrong arrays by name (None when the case cannot show the mistake); the grader
names the mistake when the learner's arrays match them (and not the right ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...layers import Conv2d
from .cases import Case


@dataclass(frozen=True)
class Mistake:
    message: str
    outputs: Callable[[Case], dict | None]


def conv(x, weight, bias, stride, padding) -> tuple[np.ndarray, Conv2d]:
    f, c, kh, kw = weight.shape
    layer = Conv2d(c, f, (kh, kw), stride, padding, dtype=np.float64)
    layer.weight.data[...], layer.bias.data[...] = weight, bias
    return np.array(layer.forward(x)), layer


def flipped_forward(case: Case) -> dict:
    x, weight, bias = case.args
    return {"out": conv(x, weight[:, :, ::-1, ::-1], bias, **case.kwargs)[0]}


def flipped_backward(case: Case) -> dict:
    x, weight, bias = case.args
    _, layer = conv(x, weight[:, :, ::-1, ::-1], bias, **case.kwargs)
    dx = np.array(layer.backward(case.dout))
    return {"dx": dx, "dweight": layer.weight.grad[:, :, ::-1, ::-1]}


def padded_output(with_bias: bool) -> Callable[[Case], dict | None]:
    """The convolution of the unpadded input, then zeros (or the bias) around the output."""

    def outputs(case: Case) -> dict | None:
        x, weight, bias = case.args
        p = case.kwargs["padding"]
        if p == 0:
            return None
        out = conv(x, weight, 0 * bias, case.kwargs["stride"], 0)[0]
        out = np.pad(out, ((0, 0), (0, 0), (p, p), (p, p)))
        if with_bias:
            out = out + bias[:, None, None]
        return {"out": out} if out.shape == case.expected["out"].shape else None

    return outputs


def every_tied_max(assign: bool) -> Callable[[Case], dict]:
    """Max-pool backward that sends dout to every maximum of a window (``assign``: with =
    where overlapping windows must add)."""

    def outputs(case: Case) -> dict:
        (x,), k, s = case.args, case.kwargs["kernel_size"], case.kwargs["stride"]
        dx = np.zeros_like(x)
        n_, c_, ho, wo = case.dout.shape
        for n in range(n_):
            for c in range(c_):
                for i in range(ho):
                    for j in range(wo):
                        window = x[n, c, i * s : i * s + k, j * s : j * s + k]
                        hit = window == window.max()
                        if assign:  # only the first maximum, but = instead of +=
                            hit = np.zeros_like(hit)
                            hit.flat[np.argmax(window)] = True
                            dx[n, c, i * s : i * s + k, j * s : j * s + k][hit] = case.dout[
                                n, c, i, j
                            ]
                        else:
                            dx[n, c, i * s : i * s + k, j * s : j * s + k] += (
                                hit * case.dout[n, c, i, j]
                            )
        return {"dx": dx}

    return outputs


def batchnorm_parts(case: Case):
    x, gamma, _ = case.args
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    inv_std = 1 / np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + case.kwargs["eps"])
    x_hat = (x - mean) * inv_std
    return x_hat, inv_std, case.dout * gamma[:, None, None]


def no_mean_or_var_terms(case: Case) -> dict:
    _, inv_std, dx_hat = batchnorm_parts(case)
    return {"dx": dx_hat * inv_std}


def no_var_term(case: Case) -> dict:
    _, inv_std, dx_hat = batchnorm_parts(case)
    return {"dx": (dx_hat - dx_hat.mean(axis=(0, 2, 3), keepdims=True)) * inv_std}


def batchnorm_forward_with(axes, unbiased: bool) -> Callable[[Case], dict | None]:
    def outputs(case: Case) -> dict | None:
        x, gamma, beta = case.args
        m = np.prod([x.shape[a] for a in axes])
        if m < 2:
            return None
        var = x.var(axis=axes, keepdims=True, ddof=1 if unbiased else 0)
        x_hat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(var + case.kwargs["eps"])
        return {"out": gamma[:, None, None] * x_hat + beta[:, None, None]}

    return outputs


def scaled(names: tuple[str, ...], by: Callable[[Case], float]) -> Callable[[Case], dict]:
    def outputs(case: Case) -> dict:
        return {name: case.expected[name] * by(case) for name in names}

    return outputs


def decay_after_momentum(case: Case) -> dict | None:
    param, grad, velocity, lr = case.args
    momentum, decay = case.kwargs["momentum"], case.kwargs["weight_decay"]
    if not decay:
        return None
    new_velocity = momentum * velocity + grad
    return {"new_param": param - lr * (new_velocity + decay * param), "new_velocity": new_velocity}


def velocity_with_lr(case: Case) -> dict:
    """CS231n's form of momentum: v = momentum * v - lr * g, then param + v."""
    param, grad, velocity, lr = case.args
    g = grad + case.kwargs["weight_decay"] * param
    new_velocity = case.kwargs["momentum"] * velocity - lr * g
    return {"new_param": param + new_velocity, "new_velocity": new_velocity}


def adam_variant(
    correct_m: bool, correct_v: bool, eps_inside: bool = False
) -> Callable[[Case], dict]:
    def outputs(case: Case) -> dict:
        param, grad, m, v, t, lr = case.args
        (b1, b2), eps = case.kwargs["betas"], case.kwargs["eps"]
        m, v = b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad**2
        m_hat = m / (1 - b1**t) if correct_m else m
        v_hat = v / (1 - b2**t) if correct_v else v
        denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
        return {"new_param": param - lr * m_hat / denom}

    return outputs


def bias_mean(name: str, axes) -> Callable[[Case], dict]:
    return lambda case: {name: case.dout.mean(axis=axes)}


FLIPPED = (
    "kernel flipped: that is a true convolution, but PyTorch's Conv2d (and this exercise) is "
    "cross-correlation; use weight[f, c, a, b] as it is, without [::-1, ::-1]"
)
BIAS_NOT_SUMMED = (
    "bias gradient not summed over the batch: every example adds to the same bias, so add "
    "dout up over the batch (and, for a conv, over every output pixel); do not average"
)
BIAS_NOT_ADDED = "bias not added: every out[n, f, ...] gets bias[f] added after the sum"
#: function -> the mistakes it is checked for, in the order they are tried
MISTAKES: dict[str, list[Mistake]] = {
    "relu_backward": [
        Mistake(
            "the gradient at x = 0 must be 0 (PyTorch's rule): use the mask x > 0, not x >= 0",
            lambda case: {"dx": case.dout * (case.args[0] >= 0)},
        )
    ],
    "linear_backward": [
        Mistake(BIAS_NOT_SUMMED, bias_mean("dbias", 0)),
        Mistake(BIAS_NOT_SUMMED, lambda case: {"dbias": case.dout[0]}),  # the first example's
    ],
    "linear_forward": [Mistake(BIAS_NOT_ADDED, lambda c: {"out": c.expected["out"] - c.args[2]})],
    "conv2d_forward": [
        Mistake(BIAS_NOT_ADDED, lambda c: {"out": c.expected["out"] - c.args[2][:, None, None]}),
        Mistake(FLIPPED, flipped_forward),
        Mistake(
            "padding applied to the output: pad the input x with zeros before the windows "
            "slide over it, not the result",
            padded_output(with_bias=False),
        ),
        Mistake(
            "padding applied to the output: pad the input x with zeros before the windows "
            "slide over it, not the result",
            padded_output(with_bias=True),
        ),
    ],
    "conv2d_backward": [
        Mistake(FLIPPED, flipped_backward),
        Mistake(BIAS_NOT_SUMMED, bias_mean("dbias", (0, 2, 3))),
        Mistake(BIAS_NOT_SUMMED, lambda case: {"dbias": case.dout[0].sum(axis=(1, 2))}),
    ],
    "maxpool2d_backward": [
        Mistake(
            "pooling gradient sent to every tied maximum of a window: only one input "
            "produced the output, so only the first maximum (row-major, as np.argmax finds "
            "it) gets dout",
            every_tied_max(assign=False),
        ),
        Mistake(
            "overlapping windows overwrite each other's gradient (=): a pixel that is the "
            "maximum of two windows gets the sum of both (+=)",
            every_tied_max(assign=True),
        ),
    ],
    "softmax_cross_entropy": [
        Mistake(
            "loss summed instead of averaged over the batch: divide the loss and dlogits by N",
            scaled(("loss", "dlogits"), lambda case: len(case.args[1])),
        ),
        Mistake(
            "loss summed instead of averaged over the batch: divide the loss by N (dlogits "
            "already is)",
            scaled(("loss",), lambda case: len(case.args[1])),
        ),
        Mistake(
            "dlogits is not divided by N: the loss is a mean over the batch, so its "
            "gradient is (p - onehot(labels)) / N",
            scaled(("dlogits",), lambda case: len(case.args[1])),
        ),
    ],
    "batchnorm2d_forward": [
        Mistake(
            "the variance is divided by M - 1: BatchNorm normalises with the biased "
            "variance, the mean of the squared deviations (np.var's default, ddof=0)",
            batchnorm_forward_with((0, 2, 3), unbiased=True),
        ),
        Mistake(
            "the statistics are per pixel: BatchNorm2d takes each channel's mean and "
            "variance over the batch and both spatial axes, axis=(0, 2, 3)",
            batchnorm_forward_with((0,), unbiased=False),
        ),
    ],
    "batchnorm2d_backward": [
        Mistake(
            "BatchNorm backward missing the terms through the mean and variance: every x "
            "moves its channel's mean and variance, and so every x_hat; see the docstring's "
            "formula for dx",
            no_mean_or_var_terms,
        ),
        Mistake(
            "BatchNorm backward missing the term through the variance: subtract "
            "x_hat * mean(dx_hat * x_hat) too",
            no_var_term,
        ),
    ],
    "sgd_step": [
        Mistake(
            "weight decay added after momentum: PyTorch adds weight_decay * param to the "
            "gradient first, and the velocity accumulates that sum",
            decay_after_momentum,
        ),
        Mistake(
            "the velocity holds the learning rate (CS231n's v = momentum * v - lr * g, "
            "param + v): PyTorch's has none, v = momentum * v + g, and the step is "
            "param - lr * v (the same while lr stays fixed; not once a schedule changes it)",
            velocity_with_lr,
        ),
    ],
    "adam_step": [
        Mistake(
            "Adam without bias correction: divide m by (1 - beta1**t) and v by "
            "(1 - beta2**t) before the step",
            adam_variant(correct_m=False, correct_v=False),
        ),
        Mistake(
            "Adam without bias correction of m: divide it by (1 - beta1**t) too",
            adam_variant(correct_m=False, correct_v=True),
        ),
        Mistake(
            "Adam without bias correction of v: divide it by (1 - beta2**t) too",
            adam_variant(correct_m=True, correct_v=False),
        ),
        Mistake(
            "eps is inside the square root: PyTorch divides by sqrt(v_hat) + eps",
            adam_variant(correct_m=True, correct_v=True, eps_inside=True),
        ),
    ],
}
