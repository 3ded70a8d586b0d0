"""Linear on (*, in_features), as torch.nn.Linear: the product on the last axis, the weight's
gradient summed over every leading axis; a 1-D input or a wrong last axis a clear error."""

import numpy as np
import pytest
from helpers import assert_close, assert_gradients

from cnn_numpy import Flatten, Linear, ReLU, Sequential


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 2, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_on_3d_and_4d_input(shape, bias):
    rng = np.random.default_rng(11)
    assert_gradients(Linear(7, 4, bias=bias, rng=rng, dtype=np.float64), rng.standard_normal(shape))


def test_linear_on_leading_axes_is_linear_on_their_rows():
    """Every leading position is one more row of the batch: the same numbers as (M, in)."""
    rng = np.random.default_rng(12)
    x, g = rng.standard_normal((2, 3, 4, 6)), rng.standard_normal((2, 3, 4, 5))
    rows, many = Linear(6, 5, rng=0, dtype=np.float64), Linear(6, 5, rng=0, dtype=np.float64)
    expected = rows(x.reshape(-1, 6))
    dx = rows.backward(g.reshape(-1, 5))
    assert_close(many(x), expected.reshape(2, 3, 4, 5), "forward")
    assert_close(many.backward(g), dx.reshape(x.shape), "input gradient")
    assert_close(many.weight.grad, rows.weight.grad, "weight.grad (summed over 2*3*4 rows)")
    assert_close(many.bias.grad, rows.bias.grad, "bias.grad")


@pytest.mark.parametrize("bias", [True, False])
def test_linear_on_3d_input_matches_torch(bias):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    layer = Linear(6, 3, bias=bias, rng=rng, dtype=np.float64)
    twin = torch.nn.Linear(6, 3, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(layer.weight.data))
        if bias:
            twin.bias.copy_(torch.from_numpy(layer.bias.data))
    x, g = rng.standard_normal((4, 5, 6)), rng.standard_normal((4, 5, 3))
    x_t = torch.tensor(x, requires_grad=True)
    out_t = twin(x_t)
    out_t.backward(torch.from_numpy(g))
    assert_close(layer(x), out_t, "forward")
    assert_close(layer.backward(g), x_t.grad, "input gradient")
    assert_close(layer.weight.grad, twin.weight.grad, "weight.grad")
    if bias:
        assert_close(layer.bias.grad, twin.bias.grad, "bias.grad")


def test_a_model_with_linear_on_3d_input_has_its_shapes():
    model = Sequential(Linear(8, 16, rng=0), ReLU(), Linear(16, 4, rng=1))
    assert model.layers[0].output_shape((2, 5, 8)) == (2, 5, 16)
    assert model(np.zeros((2, 5, 8), dtype=np.float32)).shape == (2, 5, 4)
    table = model.summary((2, 5, 8))
    assert "(2, 5, 16)" in table and "(2, 5, 4)" in table and "Total parameters: 212" in table


@pytest.mark.parametrize(
    "shape, words",
    [
        ((10,), ["(N, 10)", "(10,)", "x[None]", "(1, 10)"]),
        ((4, 9), ["(N, 10)", "last axis", "(4, 9)"]),
        ((4, 5, 9), ["(4, 5, 9)", "last axis"]),
        ((4, 1, 2, 5), ["(4, 1, 2, 5)", "Flatten()"]),  # 1*2*5 = 10: a Flatten is missing
    ],
)
def test_a_1d_input_or_a_wrong_last_axis_is_a_clear_error(shape, words):
    with pytest.raises(ValueError) as err:
        Linear(10, 2)(np.zeros(shape))
    for word in words:
        assert word in str(err.value), f"{word!r} not in {err.value}"


def test_flattens_batch_last_view_is_read_without_a_copy():
    """After a conv, Flatten hands on a view of (C, H, W, N) memory (see conv.py); Linear
    multiplies that view as it is, as before it took (*, in_features)."""
    x = np.zeros((3, 4, 5, 8), dtype=np.float32).transpose(3, 0, 1, 2)  # (N, C, H, W)
    linear = Linear(60, 2, rng=0)
    linear(Flatten()(x))
    assert np.shares_memory(linear.x, x)
