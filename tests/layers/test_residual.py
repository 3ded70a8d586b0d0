"""Residual and AdaptiveAvgPool2d: gradient checks, PyTorch parity (float64, <= 1e-7), the
resnet preset equal to its torch twin after SGD steps, state_dict keys, clear errors."""

import numpy as np
import pytest
from helpers import assert_gradients, distinct_values

from cnn_numpy import (
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    Linear,
    ReLU,
    Residual,
    Sequential,
    Tanh,
    resnet,
)


def small_residual(c_in, c_out, stride, rng, batchnorm=False):
    """conv -> tanh -> conv (+ BatchNorm), with a 1x1-conv shortcut where the shape changes."""
    f64 = dict(rng=rng, dtype=np.float64)
    norm = [BatchNorm2d(c_out, dtype=np.float64)] if batchnorm else []
    block = Sequential(
        Conv2d(c_in, c_out, 3, stride=stride, padding=1, **f64),
        Tanh(),
        Conv2d(c_out, c_out, 3, padding=1, **f64),
        *norm,
    )
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = Sequential(Conv2d(c_in, c_out, 1, stride=stride, bias=False, **f64), *norm[:0])
    return Residual(block, shortcut)


@pytest.mark.parametrize("c_in, c_out, stride", [(3, 3, 1), (2, 4, 2), (3, 5, 1)])
def test_residual_gradients(c_in, c_out, stride):
    rng = np.random.default_rng(0)
    assert_gradients(small_residual(c_in, c_out, stride, rng), rng.standard_normal((2, c_in, 6, 6)))


def test_residual_backward_is_the_sum_of_both_branches():
    rng = np.random.default_rng(1)
    res = small_residual(2, 2, 1, rng)
    x, g = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 5, 5))
    res(x)
    dx = res.backward(g)
    res.block(x)
    np.testing.assert_allclose(dx, res.block.backward(g) + g, rtol=1e-12)


@pytest.mark.parametrize(
    "output_size, shape",
    [(1, (2, 3, 7, 7)), ((1, 1), (2, 2, 4, 6)), (2, (1, 2, 6, 6)), ((3, 2), (2, 2, 7, 5)),
     (4, (1, 1, 3, 3)), ((None, 2), (2, 2, 5, 7)), ((3, None), (1, 2, 7, 4)),
     ((None, None), (1, 1, 3, 4))],
)  # fmt: skip
def test_adaptive_avg_pool_gradients(output_size, shape):
    rng = np.random.default_rng(2)
    assert_gradients(AdaptiveAvgPool2d(output_size), rng.standard_normal(shape))


def test_adaptive_avg_pool_equals_a_loop_over_pytorchs_windows():
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 5))
    out = AdaptiveAvgPool2d((3, 2))(x)
    for a in range(3):
        for b in range(2):
            r0, r1 = (a * 7) // 3, -(-((a + 1) * 7) // 3)
            c0, c1 = (b * 5) // 2, -(-((b + 1) * 5) // 2)
            np.testing.assert_allclose(out[:, :, a, b], x[:, :, r0:r1, c0:c1].mean(axis=(2, 3)))
    assert AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)


def test_residual_state_dict_keys_name_both_branches():
    model = Sequential(
        Conv2d(1, 4, 3, padding=1, rng=0), small_residual(4, 8, 2, 0, batchnorm=True), ReLU()
    )
    keys = list(model.state_dict())
    assert "1.block.0.weight" in keys and "1.block.3.running_mean" in keys
    assert "1.shortcut.0.weight" in keys and "1.block.3.num_batches_tracked" in keys
    assert [k for k, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.block.0.weight", "1.block.0.bias", "1.block.2.weight",
        "1.block.2.bias", "1.block.3.weight", "1.block.3.bias", "1.shortcut.0.weight",
    ]  # fmt: skip
    state = {k: v + 1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in state.items())


def test_train_and_eval_reach_inside_a_residual():
    res = small_residual(2, 2, 1, 0, batchnorm=True)
    Sequential(res).eval()
    assert not res.block[3].training
    Sequential(res).train()
    assert res.block[3].training


def test_a_shape_mismatch_names_both_shapes_and_the_fix():
    block = Sequential(Conv2d(2, 4, 3, stride=2, padding=1, rng=0))
    with pytest.raises(ValueError, match=r"\(1, 4, 4, 4\).*\(1, 2, 8, 8\).*1x1 convolution"):
        Residual(block)(np.zeros((1, 2, 8, 8)))
    with pytest.raises(ValueError, match="1x1 convolution"):
        Sequential(Residual(block)).summary((1, 2, 8, 8))


def test_a_layer_without_output_shape_is_not_broadcast_into_the_sum():
    from cnn_numpy import Layer

    class ChannelMeans(Layer):  # one's own layer, (N, C, H, W) -> (N, C, 1, 1), no output_shape
        def forward(self, x):
            self.shape = x.shape
            return x.mean(axis=(2, 3), keepdims=True)

        def backward(self, grad_out):
            return np.broadcast_to(grad_out / np.prod(self.shape[2:]), self.shape).copy()

    with pytest.raises(
        ValueError, match=r"output \(2, 3, 1, 1\) and the shortcut's .*\(2, 3, 4, 4\)"
    ):
        Residual(ChannelMeans())(np.ones((2, 3, 4, 4)))  # (was a silent broadcast, wrong dL/dx)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Residual("conv"), "block must be a Layer"),
        (lambda: Residual([ReLU(), ReLU()]), r"for several layers: Sequential\(\*layers\)"),
        (lambda: Residual(ReLU(), shortcut=3), "shortcut must be a Layer or None"),
        (lambda: AdaptiveAvgPool2d(0), "output_size must be >= 1"),
        (lambda: AdaptiveAvgPool2d((0, None)), "where None keeps the input's size, got"),
        (lambda: AdaptiveAvgPool2d((None, 2.0)), "where None keeps the input's size, got"),
        (lambda: AdaptiveAvgPool2d(None), "output_size must be >= 1"),
    ],
)
def test_bad_arguments_are_clear_errors(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_adaptive_pool_refuses_a_flat_input():
    with pytest.raises(ValueError, match=r"4-D input"):
        AdaptiveAvgPool2d(1)(np.zeros((2, 8)))


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="forward"):
        Residual(ReLU()).backward(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (8, 1)])
def test_resnet_takes_28_and_32_pixel_images(size, channels):
    model = resnet(7, in_channels=channels, image_size=size, rng=0)
    assert model(np.zeros((2, channels, size, size), np.float32)).shape == (2, 7)
    assert any(isinstance(layer, Residual) for layer in model)


def test_resnet_gradients_in_float64():
    model = resnet(3, width=2, blocks=(1, 2), image_size=8, rng=0, dtype=np.float64)
    model.eval()  # batch statistics of two images would make the check ill-conditioned
    assert_gradients(model, distinct_values(np.random.default_rng(4), (2, 1, 8, 8)), tol=1e-5)


def test_resnet_rejects_too_small_images():
    with pytest.raises(ValueError, match="at least 4 pixels"):
        resnet(image_size=3)
    with pytest.raises(ValueError, match="blocks"):
        resnet(blocks=())
    with pytest.raises(ValueError, match=r"for 3 stages of one block: blocks=\(1,\) \* 3"):
        resnet(blocks=3)  # the CLI's --blocks 3 is blocks=(1, 1, 1) here


def test_linear_after_global_pooling_sees_the_channel_count():
    model = resnet(10, rng=0)
    assert isinstance(model[-1], Linear) and model[-1].in_features == 64


@pytest.mark.parametrize("output_size", [1, 2, (2, 3)])
@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.uint8, np.float32),
        (np.int64, np.float64),
        (np.float32, np.float32),
        (np.float64, np.float64),
    ],
)
def test_adaptive_pool_gives_one_dtype_for_every_output_size(output_size, dtype, expected):
    x = np.arange(2 * 3 * 4 * 6).reshape(2, 3, 4, 6).astype(dtype)
    out = AdaptiveAvgPool2d(output_size)(x)
    assert out.dtype == expected  # whole numbers: float32 means, as NumPy's type promotion says
    ref = AdaptiveAvgPool2d(output_size)(x.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_a_none_output_size_keeps_that_axis_and_survives_a_model_file(tmp_path):
    """PyTorch's AdaptiveAvgPool2d((None, 2)): rows kept, columns pooled to 2; the layer
    rebuilds from a model file, and the summary gives its shape."""
    import cnn_numpy as cnn

    x = np.random.default_rng(4).standard_normal((2, 3, 5, 6)).astype(np.float32)
    pool = AdaptiveAvgPool2d((None, 2))
    np.testing.assert_allclose(pool(x), x.reshape(2, 3, 5, 2, 3).mean(axis=4), rtol=1e-6)
    assert repr(pool) == "AdaptiveAvgPool2d(output_size=(None, 2))"
    model = cnn.Sequential(pool, cnn.Flatten())
    cnn.save(model, tmp_path / "m.npz")
    again = cnn.load(tmp_path / "m.npz")
    assert again[0].output_size == (None, 2)
    np.testing.assert_array_equal(again(x), model(x))
    assert "(1, 3, 5, 2)" in model.summary((1, 3, 5, 6))
