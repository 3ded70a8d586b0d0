"""AvgPool2d, LeakyReLU, Sigmoid, Tanh: gradient checks, PyTorch parity, shapes and errors."""

import numpy as np
import pytest
from helpers import assert_close, assert_gradients

from cnn_numpy import AvgPool2d, LeakyReLU, ReLU, Sigmoid, Tanh

POOLS = [  # (input shape, kernel_size, stride, padding)
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 5), 3, 2, 1),
    ((2, 1, 5, 6), (2, 3), (1, 2), (1, 0)),
    ((1, 2, 4, 4), 3, 1, 0),  # overlapping windows
]
ACTIVATIONS = [LeakyReLU(), LeakyReLU(0.2), Sigmoid(), Tanh()]


def away_from_zero(rng, shape):
    """Standard normal values with |x| >= 0.1: no kinks of LeakyReLU inside h of any input."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.1 + np.abs(x), x)


@pytest.mark.parametrize("shape, k, s, p", POOLS)
def test_avgpool_gradients(shape, k, s, p):
    assert_gradients(AvgPool2d(k, s, p), np.random.default_rng(0).standard_normal(shape))


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=repr)
def test_activation_gradients(layer):
    assert_gradients(layer, away_from_zero(np.random.default_rng(0), (3, 2, 4)))


def test_avgpool_is_the_window_mean():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    y = AvgPool2d(2)(x)
    assert y.dtype == np.float32
    assert_close(y[0, 0], [[2.5, 4.5], [10.5, 12.5]], "2x2 means")
    padded = AvgPool2d(2, stride=2, padding=1)(np.ones((1, 1, 2, 2)))
    assert_close(padded[0, 0], [[0.25, 0.25], [0.25, 0.25]], "padding counts in the mean")


@pytest.mark.parametrize("layer", ACTIVATIONS + [AvgPool2d(2)], ids=repr)
def test_float32_stays_float32(layer):
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = Sigmoid()(np.array([-1000.0, 0.0, 1000.0]))
    assert_close(y, [0.0, 0.5, 1.0], "sigmoid at -1000, 0, 1000")


def test_avgpool_output_shape_and_errors():
    assert AvgPool2d(3, 2, 1).output_shape((4, 3, 28, 28)) == (4, 3, 14, 14)
    with pytest.raises(ValueError, match="at most half of kernel_size"):
        AvgPool2d(2, padding=2)
    with pytest.raises(ValueError, match="must be >= 1"):
        AvgPool2d(0)
    with pytest.raises(ValueError, match="4-D input"):
        AvgPool2d(2)(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="window 5x5 is larger than the input 4x4"):
        AvgPool2d(5)(np.zeros((1, 1, 4, 4)))


def test_config_rebuilds_the_layer():
    for layer in [AvgPool2d((2, 3), 1, (1, 0)), LeakyReLU(0.3), Sigmoid(), Tanh()]:
        assert repr(type(layer)(**layer.config())) == repr(layer)


@pytest.mark.parametrize("shape, k, s, p", POOLS)
def test_avgpool_matches_torch(shape, k, s, p):
    pytest.importorskip("torch")
    from helpers.torch_twin import run_both, to_torch

    rng = np.random.default_rng(1)
    layer = AvgPool2d(k, s, p)
    x, g = rng.standard_normal(shape), rng.standard_normal(layer.output_shape(shape))
    (out, dx), (out_t, dx_t) = run_both(layer, to_torch(layer), x, g)
    assert_close(out, out_t, f"{layer!r} forward")
    assert_close(dx, dx_t, f"{layer!r} input gradient")


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=repr)
def test_activation_matches_torch(layer):
    pytest.importorskip("torch")
    from helpers.torch_twin import run_both, to_torch

    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 5)) * 4
    x[0, 0, :2] = 0.0  # the kink: derivative as PyTorch's
    g = rng.standard_normal(x.shape)
    (out, dx), (out_t, dx_t) = run_both(layer, to_torch(layer), x, g)
    assert_close(out, out_t, f"{layer!r} forward")
    assert_close(dx, dx_t, f"{layer!r} input gradient")


@pytest.mark.parametrize("make", [Sigmoid, Tanh, ReLU, lambda: LeakyReLU(0.1)])
def test_changing_the_output_in_place_does_not_change_the_gradient(make):
    # backward used the very array forward returned: y *= 2 by the caller changed dL/dx
    x = np.random.default_rng(0).standard_normal((3, 4))
    layer, fresh = make(), make()
    y = layer(x)
    y *= 2
    fresh(x)
    g = np.ones_like(y)
    np.testing.assert_array_equal(layer.backward(g), fresh.backward(g))


def test_a_padded_window_too_large_names_the_padded_input():
    with pytest.raises(ValueError, match="window 7x7 is larger than the padded input 6x6"):
        AvgPool2d(7, padding=1)(np.zeros((1, 1, 4, 4)))


@pytest.mark.parametrize("dtype", ["int64", "uint8", "int8", "bool"])
def test_padded_maxpool_pools_integers_and_booleans_as_torch(dtype):
    """-inf padding has no integer form: the dtype's smallest value pads instead."""
    torch = pytest.importorskip("torch")
    from cnn_numpy import MaxPool2d

    x = (np.random.default_rng(0).integers(-50, 50, (2, 3, 7, 6)) % 9).astype(dtype)
    pool = MaxPool2d(3, 2, padding=1)
    out = pool(x)
    want = torch.nn.functional.max_pool2d(torch.from_numpy(x.astype(np.int64)), 3, 2, 1)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out.astype(np.int64), want.numpy())
    dx = pool.backward(np.ones(out.shape))
    assert dx.shape == x.shape and dx.sum() == out.size  # each window's gradient lands once
