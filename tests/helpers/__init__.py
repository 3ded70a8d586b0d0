"""The two helpers every layer test uses: a float64 gradient check and a PyTorch comparison."""

from __future__ import annotations

import numpy as np

from cnn_numpy.gradcheck import assert_gradients_ok

TOL = 1e-6


def assert_gradients(layer, x, tol: float = TOL) -> None:
    """Every analytic gradient (input and parameters) within ``tol`` of central differences."""
    assert_gradients_ok(layer, x, tol)


def assert_close(actual, expected, name: str, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """np.testing.assert_allclose with the quantity named in the message."""
    actual = actual.detach().numpy() if hasattr(actual, "detach") else np.asarray(actual)
    expected = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=name)


def distinct_values(rng, shape) -> np.ndarray:
    """Random float64 input whose entries are all different (no max-pool ties, no kinks)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) / n - 0.5 + 1e-3 * rng.standard_normal(n)).reshape(shape)


class Hooks:
    """A fit callback made of plain functions: ``Hooks(on_batch_end=f, on_epoch_end=g)``."""

    def __init__(self, **hooks):
        vars(self).update(hooks)
