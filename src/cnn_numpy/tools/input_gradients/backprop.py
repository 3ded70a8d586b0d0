"""The one idea under every explanation: one more backward pass, to the input.

``gradient_to_input(model, x, grad_of_logits)`` runs the model forward on ``x`` and backward
from the gradient ``grad_of_logits(logits)`` says the quantity has with respect to the logits,
and returns that quantity's gradient with respect to ``x``.  No layer gets new gradient code:
``model.backward`` already returns dL/dx (the first layer is told to compute it, see
``input_grad``).  ``explaining(model)`` is the context every function here runs in: eval mode
(Dropout off, BatchNorm's running statistics) and the parameters' ``grad`` untouched.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator

import numpy as np

from ...layers.base import Layer, Parameter, evaluating, layers_of
from ...layers.speed import input_grad  # the only use of input_grad here


@contextlib.contextmanager
def explaining(model: Layer) -> Iterator[Layer]:
    """Within the block the model is in eval mode; afterwards its mode and every parameter's
    ``grad`` are what they were (an explanation is not a training step)."""
    if not isinstance(model, Layer):
        raise ValueError(f"model must be a Layer, e.g. a Sequential, got {type(model).__name__}")
    grads = [p.grad.copy() for p in model.parameters()]
    try:
        with evaluating(model):  # afterwards each layer's mode is what it was
            yield model
    finally:
        for p, g in zip(model.parameters(), grads):
            p.grad[...] = g


def in_precision_of(model: Layer, x: np.ndarray) -> Layer:
    """``model``, or for float64 ``x`` and a float32 model a float64 copy of it: the
    explanation is computed in x's precision (pass float64 to check it against autograd).
    Layers cast their input to their parameters' dtype, so without the copy float64 input
    would be explained in float32."""
    params = model.parameters() if isinstance(model, Layer) else []
    if x.dtype != np.float64 or all(p.data.dtype == np.float64 for p in params):
        return model
    precise = copy.deepcopy(model)
    for layer in layers_of(precise):  # those inside a Residual's branches too
        for name, value in list(vars(layer).items()):
            if isinstance(value, Parameter):
                value.data, value.grad = (
                    value.data.astype(np.float64),
                    value.grad.astype(np.float64),
                )
            elif name in layer.buffer_names and value is not None and value.dtype.kind == "f":
                setattr(layer, name, value.astype(np.float64))
            elif name == "dtype" and np.dtype(value).kind == "f":
                layer.dtype = np.dtype(np.float64)
    return precise


def input_array(x, owner: str) -> np.ndarray:
    """``x`` as a float array of samples (N, C, H, W); ints become float32."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf" or x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(
            f"{owner}: x must be real numbers of shape (N, C, H, W) with N >= 1, got "
            f"shape {x.shape} and dtype {x.dtype}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{owner}: x holds NaN or infinite values")
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def targets(target, logits: np.ndarray, owner: str, name: str = "target") -> np.ndarray:
    """``target`` (an int, an int array (N,), or None for the predicted class) as int64 (N,);
    a class out of range is a ValueError naming it."""
    N, C = logits.shape
    if target is None:
        return logits.argmax(axis=1).astype(np.int64)
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim > 1 or (t.ndim == 1 and len(t) != N):
        raise ValueError(
            f"{owner}: {name} must be a class index (an int), one per sample (ints of shape "
            f"({N},)) or None, got {target!r:.80}"
        )
    if t.size and (t.min() < 0 or t.max() >= C):
        raise ValueError(
            f"{owner}: {name} {target!r:.80} is out of range for {C} classes (0-{C - 1})"
        )
    return np.broadcast_to(t, (N,)).astype(np.int64)


def one_hot(t: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """d(Σₙ logit[n, t[n]]) / d logits: 1 at each sample's target, 0 elsewhere."""
    g = np.zeros_like(logits)
    g[np.arange(len(t)), t] = 1
    return g


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)  # exp never overflows
    p = np.exp(shifted)
    return p / p.sum(axis=1, keepdims=True)


def cross_entropy_grad(logits: np.ndarray, t: np.ndarray) -> np.ndarray:
    """d(Σₙ CE(logits[n], t[n])) / d logits = softmax - onehot (the sum: one sample's
    gradient does not depend on the batch size)."""
    return softmax(logits) - one_hot(t, logits)


def gradient_to_input(
    model: Layer, x: np.ndarray, grad_of_logits: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``(logits, dQ/dx)``: forward on ``x``, then backward from ``grad_of_logits(logits)``
    (= dQ/dlogits) all the way to the input."""
    logits = model.forward(x)
    with input_grad(model, True):  # the first layer must pass the gradient on to the images
        dx = model.backward(grad_of_logits(logits))
    return logits, np.asarray(dx)


def check_clip(clip, owner: str) -> tuple[float, float] | None:
    """``clip`` as ``(low, high)`` with low <= high, or None."""
    if clip is None:
        return None
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: clip must be (low, high) or None, got {clip!r}") from None
    if not low <= high:
        raise ValueError(f"{owner}: clip must have low <= high, got {clip!r}")
    return low, high


def check_inside(x: np.ndarray, clip: tuple[float, float] | None, owner: str) -> None:
    """x must lie within ``clip``: clipping an image that starts outside it moves pixels
    further than eps, and the "attack" is then mostly the clip (the trap: the default [0, 1]
    on standardised input).  A ValueError that says which clip to pass."""
    if clip is None:
        return
    low, high = clip
    slack = 1e-4 * max(high - low, 1.0)  # float32 rounding of standardised pixels
    least, most = float(np.min(x)), float(np.max(x))
    if least < low - slack or most > high + slack:
        raise ValueError(
            f"{owner}: x has values from {least:.3g} to {most:.3g}, outside clip "
            f"({low:g}, {high:g}), so clipping would move pixels further than eps; for input "
            "standardised with mean m and std s, pass eps and clip in its units, "
            "eps, clip = pixel_units(eps, {'mean': m, 'std': s}), or clip=None"
        )


def check_number(value, name: str, owner: str, low: float = 0.0) -> float:
    """A finite real number >= ``low``, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: {name} must be a number >= {low:g}, got {value!r}")
    if not np.isfinite(value) or value < low:
        raise ValueError(f"{owner}: {name} must be a finite number >= {low:g}, got {value!r}")
    return float(value)


def check_steps(steps, owner: str, name: str = "steps") -> int:
    """A whole number >= 1, else a ValueError naming it."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"{owner}: {name} must be a whole number >= 1, got {steps!r}")
    return int(steps)


def backward_through(model: Layer, grad: np.ndarray, needed: bool) -> np.ndarray | None:
    """``model.backward(grad)``, its first layer computing dL/dx only if ``needed``."""
    with input_grad(model, needed):
        return model.backward(grad)
