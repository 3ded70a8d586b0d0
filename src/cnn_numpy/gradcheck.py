"""Numerical gradient checks: the proof that every backward() is right.

The analytic gradient from ``backward`` is compared with central differences

    dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / (2h)

of the scalar ``L = sum(forward(x) * R)`` for a fixed random R (so every output
element contributes with its own weight).  Run in float64: with h = 1e-6 the
truncation error is O(h^2) and the rounding error O(1e-16 / h), both far below
the 1e-6 tolerance, while any real bug gives errors near 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .layers.base import as_rng

#: seed of the random upstream gradient R.  Deliberately not 0, 1, 42...: if R were drawn
#: from the same seed as the test input x, R could be an affine function of x, which is
#: exactly the direction BatchNorm's gradient projects out (dL/dx would be ~0).
R_SEED = 20_240_917


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every element of ``x``
    (perturbed in place, then restored)."""
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise ValueError(
            "numerical_gradient: x must be a float ndarray (float64 for a check), which is "
            f"nudged by h in place; got {type(x).__name__} {getattr(x, 'dtype', '')} (an "
            "integer array would round every nudge away, and a copy would not reach f)"
        )
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        plus = f()
        x[i] = original - h
        minus = f()
        x[i] = original
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max|a - n| / max(max|a|, max|n|): 0 when equal, ~1 when unrelated (0 if both are 0)."""
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    return float(np.abs(analytic - numeric).max(initial=0.0) / scale) if scale > 0 else 0.0


def one_line(layer) -> str:
    """``repr(layer)`` when it fits on one line; a model (whose repr lists its layers) by its
    class and length, so a message does not break off in the middle of that list."""
    text = repr(layer)
    if "\n" not in text:
        return text
    inner = getattr(layer, "layers", None)
    return (
        f"{type(layer).__name__} of {len(inner)} layers"
        if inner is not None
        else type(layer).__name__
    )


def check_layer_gradients(layer, x: np.ndarray, h: float = 1e-6, rng=R_SEED) -> dict[str, float]:
    """Relative error of dL/dx (key ``"input"``) and of every parameter's gradient.

    ``layer`` and ``x`` must be float64 (build the layer with ``dtype=np.float64``).
    The layer's mode (train/eval) is used as it is.
    """
    x = np.array(x, dtype=np.float64)
    params = dict(layer.named_parameters())
    for name, p in params.items():
        if p.data.dtype != np.float64:
            raise ValueError(
                f"gradient check needs float64: {one_line(layer)} has the parameter {name!r} "
                f"in {p.data.dtype}; build the layer with dtype=np.float64"
                + (" (each layer of the model)" if "." in name else "")
            )
    out = layer.forward(x)
    if not np.array_equal(out, layer.forward(x), equal_nan=True):  # differences need one f(x)
        raise ValueError(
            f"gradient check: {one_line(layer)} gives another output at each forward of the same "
            "input (a Dropout in training mode draws a new mask), so differences cannot "
            "measure its gradient: check it in eval mode (.eval()) or with Dropout(p=0)"
        )
    R = as_rng(rng).standard_normal(out.shape)

    def objective() -> float:
        return float(np.sum(layer.forward(x) * R))

    # the rounding noise of one central difference, eps * |f| / h (docs/07), with the sum of
    # |terms| of f for |f|, times 100: a gradient below it both ways is 0 (a conv bias right
    # before a BatchNorm in training mode), where relative error would divide noise by noise
    noise = 100 * np.finfo(np.float64).eps * float(np.abs(out * R).sum()) / h
    layer.zero_grad()
    layer.forward(x)
    analytic_dx = layer.backward(R.copy())
    errors = {"input": error_above_noise(analytic_dx, numerical_gradient(objective, x, h), noise)}
    for name, p in params.items():
        numeric = numerical_gradient(objective, p.data, h)
        errors[name] = error_above_noise(p.grad.copy(), numeric, noise)
    return errors


def error_above_noise(analytic: np.ndarray, numeric: np.ndarray, noise: float) -> float:
    """``relative_error``, or 0 where both gradients are within ``noise`` of 0 everywhere."""
    largest = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    return 0.0 if largest <= noise else relative_error(analytic, numeric)


def check_loss_gradients(loss, logits: np.ndarray, targets: np.ndarray, h: float = 1e-6) -> float:
    """Relative error of ``loss.backward()`` against central differences of ``loss.forward``."""
    logits = np.array(logits, dtype=np.float64)
    loss.forward(logits, targets)
    analytic = loss.backward()
    return relative_error(
        analytic, numerical_gradient(lambda: loss.forward(logits, targets), logits, h)
    )


def assert_gradients_ok(layer, x: np.ndarray, tol: float = 1e-6, rng=R_SEED) -> dict[str, float]:
    """``check_layer_gradients`` that raises AssertionError naming the worst gradient."""
    errors = check_layer_gradients(layer, x, rng=rng)
    bad = {k: v for k, v in errors.items() if not v < tol}
    if bad:
        raise AssertionError(f"{layer!r}: gradient check failed (relative error > {tol}): {bad}")
    return errors
