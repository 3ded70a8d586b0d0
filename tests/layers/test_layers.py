"""Core layers: gradient checks, agreement with the loop reference, dtypes and errors."""

import numpy as np
import pytest
from helpers import assert_gradients, distinct_values

from cnn_numpy import Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, ReLU, reference
from cnn_numpy.gradcheck import check_loss_gradients

CONV_CASES = [  # (N, C, H, W), out_channels, kernel_size, stride, padding
    ((2, 1, 6, 6), 3, 3, 1, 0),
    ((2, 2, 7, 5), 3, (3, 2), 1, 1),
    ((1, 3, 8, 8), 2, 3, 2, 1),
    ((2, 2, 5, 7), 4, (2, 3), (2, 1), (0, 2)),
    ((3, 1, 4, 4), 1, 1, 1, 0),
    ((1, 2, 5, 5), 2, 5, 1, 0),
]
POOL_CASES = [  # (N, C, H, W), kernel_size, stride
    ((2, 2, 6, 6), 2, None),
    ((1, 3, 7, 5), 2, None),  # odd sizes: last row/column dropped (floor)
    ((2, 1, 7, 7), 3, 2),  # overlapping windows
    ((1, 2, 6, 8), (2, 3), (1, 2)),  # tuple kernel, overlapping in H
    ((1, 1, 5, 5), 3, 1),
]


@pytest.mark.parametrize("shape, out_ch, k, s, p", CONV_CASES)
def test_conv2d_gradients(shape, out_ch, k, s, p):
    rng = np.random.default_rng(0)
    conv = Conv2d(shape[1], out_ch, k, stride=s, padding=p, rng=rng, dtype=np.float64)
    assert_gradients(conv, rng.standard_normal(shape))


def test_conv2d_without_bias_gradients():
    conv = Conv2d(2, 3, 3, padding=1, bias=False, rng=0, dtype=np.float64)
    assert conv.bias is None and [n for n, _ in conv.named_parameters()] == ["weight"]
    assert_gradients(conv, np.random.default_rng(1).standard_normal((2, 2, 5, 5)))


@pytest.mark.parametrize("shape, out_ch, k, s, p", CONV_CASES)
def test_conv2d_step_after_step_equals_loop_reference(shape, out_ch, k, s, p):
    """The scratch memory kept from the last step (padded input, columns) never leaks in:
    each step on new numbers, and a step after one of another batch size, is exact."""
    rng = np.random.default_rng(3)
    conv = Conv2d(shape[1], out_ch, k, stride=s, padding=p, rng=rng, dtype=np.float64)
    w, b = conv.weight.data, conv.bias.data
    other = (shape[0] + 1, *shape[1:])
    for size in (shape, shape, other, shape):
        x = rng.standard_normal(size) * 10
        out = conv(x)
        ref = reference.conv2d(x, w, b, conv.stride, conv.padding)
        np.testing.assert_allclose(out, ref, atol=1e-11)
        g = rng.standard_normal(out.shape)
        ref_dx = reference.conv2d_backward(x, w, g, conv.stride, conv.padding)[0]
        np.testing.assert_allclose(conv.backward(g), ref_dx, atol=1e-11)


@pytest.mark.parametrize("shape, out_ch, k, s, p", CONV_CASES)
def test_conv2d_equals_loop_reference(shape, out_ch, k, s, p):
    rng = np.random.default_rng(1)
    conv = Conv2d(shape[1], out_ch, k, stride=s, padding=p, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    out = conv(x)
    w, b = conv.weight.data, conv.bias.data
    np.testing.assert_allclose(
        out, reference.conv2d(x, w, b, conv.stride, conv.padding), atol=1e-12
    )
    g = rng.standard_normal(out.shape)
    dx = conv.backward(g)
    ref_dx, ref_dw, ref_db = reference.conv2d_backward(x, w, g, conv.stride, conv.padding)
    np.testing.assert_allclose(dx, ref_dx, atol=1e-12)
    np.testing.assert_allclose(conv.weight.grad, ref_dw, atol=1e-12)
    np.testing.assert_allclose(conv.bias.grad, ref_db, atol=1e-12)


PADDED_POOLS = [  # (N, C, H, W), kernel_size, stride, padding (-inf, at most half the kernel)
    ((2, 2, 7, 7), 3, 2, 1),  # ResNet's stem pooling
    ((1, 3, 5, 6), 2, None, 1),
    ((1, 2, 6, 5), (3, 2), (1, 2), (1, 0)),
    ((1, 1, 4, 4), 3, 1, 1),  # overlapping: every pixel in up to 9 windows
]


@pytest.mark.parametrize("shape, k, s, p", PADDED_POOLS)
def test_padded_maxpool_gradients_and_loop_reference(shape, k, s, p):
    rng = np.random.default_rng(6)
    x = distinct_values(rng, shape)
    assert_gradients(MaxPool2d(k, s, p), x)
    pool = MaxPool2d(k, s, p)
    out = pool(x)
    assert np.isfinite(out).all()  # every window holds a real pixel: no -inf comes out
    ref = reference.max_pool2d(x, pool.kernel_size, pool.stride, pool.padding)
    np.testing.assert_array_equal(out, ref)
    g = rng.standard_normal(out.shape)
    dx = pool.backward(g)
    assert dx.shape == x.shape
    ref_dx = reference.max_pool2d_backward(x, g, pool.kernel_size, pool.stride, pool.padding)
    np.testing.assert_allclose(dx, ref_dx)
    np.testing.assert_allclose(dx.sum(), g.sum())  # no gradient lost into the padding


def test_padded_maxpool_of_negative_values_never_takes_the_padding():
    pool = MaxPool2d(3, 1, 1)
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # all below 0: zero padding would win
    out = pool(x)
    assert out[0, 0, 0, 0] == -1 and out.max() == -1 and out.min() == -5
    assert repr(pool) == "MaxPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert MaxPool2d(**pool.config()).padding == (1, 1)
    assert "padding" not in MaxPool2d(2).config()  # model files without padding unchanged


@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_maxpool_gradients(shape, k, s):
    rng = np.random.default_rng(2)
    assert_gradients(MaxPool2d(k, s), distinct_values(rng, shape))


@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_maxpool_equals_loop_reference(shape, k, s):
    rng = np.random.default_rng(3)
    pool = MaxPool2d(k, s)
    x = rng.standard_normal(shape)
    out = pool(x)
    np.testing.assert_array_equal(out, reference.max_pool2d(x, pool.kernel_size, pool.stride))
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(
        pool.backward(g), reference.max_pool2d_backward(x, g, pool.kernel_size, pool.stride)
    )


@pytest.mark.parametrize("k, s", [(2, None), (3, 2), (3, 1)])
def test_maxpool_ties_route_gradient_to_first_maximum(k, s):
    """After ReLU many windows hold several zeros: exactly one (the first, row-major) gets it."""
    rng = np.random.default_rng(4)
    x = np.maximum(rng.integers(-3, 2, size=(2, 2, 7, 7)), 0).astype(np.float64)
    pool = MaxPool2d(k, s)
    out = pool(x)
    g = rng.standard_normal(out.shape)
    dx = pool.backward(g)
    np.testing.assert_allclose(
        dx, reference.max_pool2d_backward(x, g, pool.kernel_size, pool.stride)
    )
    # total gradient is conserved: each window routes its gradient to exactly one input
    np.testing.assert_allclose(dx.sum(), g.sum())


def test_maxpool_tie_single_window():
    pool = MaxPool2d(2)
    pool(np.zeros((1, 1, 2, 2)))
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_relu_gradients_and_values():
    x = distinct_values(np.random.default_rng(5), (3, 4, 5))
    assert_gradients(ReLU(), x)
    relu = ReLU()
    np.testing.assert_array_equal(relu(np.array([-1.0, 0.0, 2.0])), [0, 0, 2])
    np.testing.assert_array_equal(relu.backward(np.ones(3)), [0, 0, 1])  # 0 at x = 0


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients(bias):
    rng = np.random.default_rng(6)
    assert_gradients(
        Linear(7, 4, bias=bias, rng=rng, dtype=np.float64), rng.standard_normal((5, 7))
    )


def test_flatten_gradients_and_shape():
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 5))
    assert Flatten()(x).shape == (2, 60)
    assert_gradients(Flatten(), x)


@pytest.mark.parametrize("n, c, scale", [(4, 3, 1.0), (7, 10, 5.0), (1, 2, 0.1)])
def test_cross_entropy_gradient(n, c, scale):
    rng = np.random.default_rng(8)
    logits = scale * rng.standard_normal((n, c))
    targets = rng.integers(0, c, size=n)
    assert check_loss_gradients(CrossEntropyLoss(), logits, targets) < 1e-6


def test_cross_entropy_values_and_stability():
    loss = CrossEntropyLoss()
    assert loss(np.zeros((3, 4)), np.array([0, 1, 3])) == pytest.approx(np.log(4))
    # huge logits: log-sum-exp keeps it finite and exact
    big = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    assert loss(big, np.array([0, 0])) == pytest.approx(500.0)
    grad = loss.backward()
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad, [[0, 0], [-0.5, 0.5]], atol=1e-12)  # (p - onehot) / N


def test_parameter_gradients_accumulate():
    """backward() adds to param.grad (as PyTorch) until zero_grad()."""
    rng = np.random.default_rng(9)
    conv = Conv2d(1, 2, 3, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 1, 5, 5))
    g = rng.standard_normal((2, 2, 3, 3))
    conv(x)
    conv.backward(g)
    once = conv.weight.grad.copy()
    conv(x)
    conv.backward(g)
    np.testing.assert_allclose(conv.weight.grad, 2 * once)
    conv.zero_grad()
    assert not conv.weight.grad.any()


def test_backward_does_not_mutate_its_inputs():
    rng = np.random.default_rng(10)
    layers = [
        Conv2d(2, 3, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(12, 2, rng=rng),
    ]
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    x_copy = x.copy()
    for layer in layers:
        out = layer(x)
        g = rng.standard_normal(out.shape).astype(np.float32)
        g_copy = g.copy()
        layer.backward(g)
        np.testing.assert_array_equal(g, g_copy, err_msg=f"{layer!r} changed grad_out")
        np.testing.assert_array_equal(x, x_copy, err_msg=f"{layer!r} changed its input")
        x = out.copy()
        x_copy = x.copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_through_forward_and_backward(dtype):
    rng = np.random.default_rng(11)
    layers = [
        Conv2d(1, 4, 3, padding=1, rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(4 * 3 * 3, 3, rng=rng, dtype=dtype),
    ]
    x = rng.random((2, 1, 6, 6))  # float64 input, cast by the first layer
    for layer in layers:
        x = layer(x)
        assert x.dtype == dtype, f"{layer!r} returned {x.dtype}"
    loss = CrossEntropyLoss()
    loss(x, np.array([0, 2]))
    g = loss.backward()
    assert g.dtype == dtype
    for layer in reversed(layers):
        g = layer.backward(g)
        assert g.dtype == dtype, f"{layer!r}.backward returned {g.dtype}"
        for name, p in layer.named_parameters():
            assert p.data.dtype == p.grad.dtype == dtype, f"{layer!r}.{name}"


def test_default_init_matches_pytorch_bounds_and_is_seeded():
    conv = Conv2d(3, 16, 5, rng=0)
    bound = 1 / np.sqrt(3 * 5 * 5)
    assert conv.weight.data.dtype == np.float32
    assert np.abs(conv.weight.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.9 * bound
    np.testing.assert_array_equal(conv.weight.data, Conv2d(3, 16, 5, rng=0).weight.data)
    lin = Linear(100, 10, rng=np.random.default_rng(1))
    assert lin.weight.shape == (10, 100) and np.abs(lin.weight.data).max() <= 0.1


def test_conv_output_shape_formula():
    conv = Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2))
    # H: (28 + 2 - 3) // 2 + 1 = 14;  W: (20 + 4 - 5) // 1 + 1 = 20
    assert conv(np.zeros((2, 3, 28, 20))).shape == (2, 8, 14, 20)


# --- errors: every message names the layer, the expected and the actual shape ------------


@pytest.mark.parametrize(
    "layer, shape, words",
    [
        (Conv2d(1, 8, 3), (28, 28), ["Conv2d(1, 8", "(N, C, H, W)", "(28, 28)", "x[None, None]"]),
        (Conv2d(3, 8, 3), (2, 1, 28, 28), ["Conv2d(3, 8", "3 input channel", "1 channel"]),
        (Conv2d(1, 8, 5), (2, 1, 3, 3), ["kernel 5x5", "padded input 3x3"]),
        (Conv2d(1, 8, 5, padding=1), (2, 1, 2, 2), ["kernel 5x5", "padded input 4x4"]),
        (Linear(10, 2), (4, 9), ["in_features=10", "(N, 10)", "(4, 9)"]),
        (Linear(10, 2), (4, 1, 2, 5), ["Flatten()"]),
        (MaxPool2d(3), (1, 1, 2, 2), ["MaxPool2d", "3x3", "2x2"]),
        (MaxPool2d(2), (2, 2), ["MaxPool2d", "(N, C, H, W)"]),
    ],
)
def test_bad_input_shapes_raise_clear_errors(layer, shape, words):
    with pytest.raises(ValueError) as err:
        layer(np.zeros(shape))
    for word in words:
        assert word in str(err.value), f"{word!r} not in {err.value}"


@pytest.mark.parametrize(
    "logits, targets, words",
    [
        (np.zeros((3, 4)), np.array([0, 1, 4]), ["[0, 4)", "4"]),
        (np.zeros((3, 4)), np.array([0, -1, 2]), ["[0, 4)", "-1"]),
        (np.zeros((3, 4)), np.array([0, 1]), ["(3, 4)", "(2,)"]),
        (np.zeros(4), np.array([0]), ["(N, C)"]),
        (np.zeros((2, 4)), np.array([0.0, 1.0]), ["integer"]),
    ],
)
def test_loss_bad_input_raises_clear_errors(logits, targets, words):
    with pytest.raises(ValueError) as err:
        CrossEntropyLoss()(logits, targets)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Conv2d(1, 8, 0),
        lambda: Conv2d(1, 8, 3, stride=0),
        lambda: Conv2d(1, 8, (3, 3, 3)),
        lambda: Conv2d(1, 8, 3, padding=-1),
        lambda: Conv2d(0, 8, 3),
        lambda: Linear(0, 2),
        lambda: MaxPool2d(0),
        lambda: MaxPool2d(2.5),
    ],
)
def test_bad_constructor_arguments(make):
    with pytest.raises(ValueError):
        make()


LONG_ROW_CASES = [  # batches whose kernel taps have rows of Wo*N >= LONG_ROW numbers
    ((32, 2, 9, 9), 3, 3, 1, 1),  # rows of 9*32 = 288: added in place (rows_in_place)
    ((48, 1, 8, 7), 2, (3, 2), (2, 1), (1, 0)),  # stride 1 along the width only: 6*48 = 288
    ((32, 2, 9, 9), 2, 3, 2, 1),  # stride 2: rows of N, through NumPy's buffers
]


@pytest.mark.parametrize("shape, out_ch, k, s, p", LONG_ROW_CASES)
def test_conv2d_backward_with_long_rows_equals_loop_reference(shape, out_ch, k, s, p):
    """col2im adds each tap's long rows in place: the same numbers as the loop reference,
    and NumPy's buffer size as it was afterwards."""
    rng = np.random.default_rng(2)
    conv = Conv2d(shape[1], out_ch, k, stride=s, padding=p, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(conv(x).shape)
    before = np.getbufsize()
    dx = conv.backward(g)
    assert np.getbufsize() == before
    ref_dx = reference.conv2d_backward(x, conv.weight.data, g, conv.stride, conv.padding)[0]
    np.testing.assert_allclose(dx, ref_dx, atol=1e-12)


def test_rows_in_place_sets_numpys_buffer_only_for_long_rows_and_restores_it():
    from cnn_numpy.layers.speed import LONG_ROW, ROW_BUFFER, rows_in_place

    before = np.getbufsize()
    with rows_in_place(LONG_ROW - 1):
        assert np.getbufsize() == before  # short rows: NumPy's buffers are faster
    with rows_in_place(LONG_ROW):
        assert np.getbufsize() == ROW_BUFFER
    assert np.getbufsize() == before
    with pytest.raises(KeyboardInterrupt), rows_in_place(10 * LONG_ROW):
        raise KeyboardInterrupt  # Ctrl-C inside the block
    assert np.getbufsize() == before


@pytest.mark.parametrize("x", [np.arange(3), [1.0, 2.0], np.array([True])])
def test_numerical_gradient_refuses_what_it_cannot_nudge(x):
    from cnn_numpy import numerical_gradient

    # an int array would round x + h back to x: a gradient of 0 everywhere, silently
    with pytest.raises(ValueError, match="x must be a float ndarray"):
        numerical_gradient(lambda: 0.0, x)
