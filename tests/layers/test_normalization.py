"""BatchNorm1d/2d: per-channel statistics, gradients, running statistics, state_dict, PyTorch."""

import numpy as np
import pytest
from helpers import assert_close, assert_gradients

from cnn_numpy import BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential


def random_bn(cls, C, rng, **kwargs):
    """A float64 BatchNorm with non-trivial weight, bias and running statistics."""
    bn = cls(C, dtype=np.float64, **kwargs)
    if bn.affine:
        bn.weight.data[...] = rng.uniform(0.5, 2.0, C)
        bn.bias.data[...] = rng.standard_normal(C)
    if bn.track_running_stats:
        bn.running_mean[...] = rng.standard_normal(C)
        bn.running_var[...] = rng.uniform(0.5, 2.0, C)
    return bn


CASES = [
    (BatchNorm2d, (4, 3, 5, 5)),
    (BatchNorm2d, (2, 2, 3, 4)),
    (BatchNorm1d, (6, 4)),
    (BatchNorm1d, (3, 2, 5)),
]


def test_normalises_each_channel_over_batch_and_space():
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 4, 6, 6)) * np.arange(1, 5)[:, None, None]
    y = BatchNorm2d(4, dtype=np.float64)(x)
    assert_close(y.mean(axis=(0, 2, 3)), np.zeros(4), "per-channel mean", atol=1e-12)
    assert_close(y.var(axis=(0, 2, 3)), np.ones(4), "per-channel variance", rtol=1e-4)
    assert abs(y[:, 0, 0, 0].mean()) > 1e-3  # not normalised per activation (c, h, w)


def test_float32_stays_float32():
    bn = BatchNorm2d(3)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    assert bn(x).dtype == np.float32 and bn.backward(x).dtype == np.float32
    assert bn.running_mean.dtype == bn.running_var.dtype == np.float32
    assert bn.eval()(x).dtype == np.float32


@pytest.mark.parametrize("cls, shape", CASES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_gradients(cls, shape, training, affine):
    rng = np.random.default_rng(1)
    bn = random_bn(cls, shape[1], rng, affine=affine).train(training)
    assert_gradients(bn, rng.standard_normal(shape) * 2 + 1)


def test_gradients_without_running_stats_in_eval_mode():
    rng = np.random.default_rng(2)  # no running statistics: eval mode uses the batch's
    bn = random_bn(BatchNorm2d, 3, rng, track_running_stats=False).eval()
    assert_gradients(bn, rng.standard_normal((3, 3, 2, 2)))


@pytest.mark.parametrize("forward_mode", [True, False])
def test_backward_differentiates_the_forward_even_after_a_mode_switch(forward_mode):
    # train() or eval() between forward and backward (a callback, another thread) must not
    # turn the gradient into that of the other formula, as autograd would not
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((4, 3, 5, 5)) + 1, rng.standard_normal((4, 3, 5, 5))
    reference, switched = (random_bn(BatchNorm2d, 3, np.random.default_rng(4)) for _ in range(2))
    reference.train(forward_mode)(x)
    switched.train(forward_mode)(x)
    switched.train(not forward_mode)
    assert_close(switched.backward(g), reference.backward(g), "dx", rtol=1e-12)
    assert_close(switched.weight.grad, reference.weight.grad, "weight.grad", rtol=1e-12)


@pytest.mark.parametrize(
    "cls, shape",
    [
        (BatchNorm2d, (2, 3, 4)),
        (BatchNorm2d, (2, 4, 3, 3)),
        (BatchNorm1d, (5, 3, 2, 2)),
        (BatchNorm1d, (5, 2)),
    ],
)
def test_bad_input_shape_is_a_clear_error(cls, shape):
    with pytest.raises(ValueError, match=r"expects input of shape .* with C = 3"):
        cls(3)(np.zeros(shape))


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_features"):
        BatchNorm2d(0)
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="more than one value per channel"):
        BatchNorm1d(3)(np.zeros((1, 3)))
    assert BatchNorm1d(3).eval()(np.zeros((1, 3))).shape == (1, 3)  # fine with running stats


def test_a_batch_of_one_without_running_stats_does_not_advise_eval():
    """eval() is no way out when there are no running statistics: it uses the batch's too."""
    with pytest.raises(ValueError, match="batch of 1") as error:
        BatchNorm1d(3, track_running_stats=False)(np.zeros((1, 3)))
    assert "running statistics instead" not in str(error.value)
    assert "track_running_stats=False eval() uses the batch's too" in str(error.value)


def test_state_dict_names_and_config():
    model = Sequential(Conv2d(1, 2, 3), BatchNorm2d(2))
    assert list(model.state_dict()) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    bn = BatchNorm1d(5, eps=1e-3, momentum=None, affine=False, dtype=np.float64)
    assert repr(BatchNorm1d(**bn.config())) == repr(bn)
    assert list(dict(bn.named_parameters())) == []
    assert [name for name, _ in BatchNorm2d(2, track_running_stats=False).named_buffers()] == []


# ---- PyTorch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, shape", CASES)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_matches_torch_train_then_eval(cls, shape, momentum):
    """Several train steps (forward, backward, running statistics), then eval mode."""
    from helpers.torch_twin import run_both, to_torch

    rng = np.random.default_rng(3)
    bn = random_bn(cls, shape[1], rng, momentum=momentum)
    twin = to_torch(bn)
    for step in range(4):
        mode = step < 3  # 3 train steps, then eval
        bn.train(mode), twin.train(mode)
        x, g = rng.normal(1.0, 2.0, shape), rng.standard_normal(shape)
        twin.zero_grad()
        (out, dx), (out_t, dx_t) = run_both(bn, twin, x, g)
        tag = f"{bn!r} step {step} ({'train' if mode else 'eval'})"
        assert_close(out, out_t, f"{tag} forward")
        assert_close(dx, dx_t, f"{tag} input gradient")
        assert_close(bn.weight.grad, twin.weight.grad, f"{tag} weight.grad")
        assert_close(bn.bias.grad, twin.bias.grad, f"{tag} bias.grad")
        assert_close(bn.running_mean, twin.running_mean, f"{tag} running_mean")
        assert_close(bn.running_var, twin.running_var, f"{tag} running_var")
        assert int(bn.num_batches_tracked) == int(twin.num_batches_tracked)


@pytest.mark.parametrize("training", [True, False])
def test_matches_torch_without_running_stats(training):
    from helpers.torch_twin import run_both, to_torch

    rng = np.random.default_rng(4)
    bn = random_bn(BatchNorm2d, 3, rng, track_running_stats=False, affine=False).train(training)
    x, g = rng.standard_normal((3, 3, 4, 4)), rng.standard_normal((3, 3, 4, 4))
    (out, dx), (out_t, dx_t) = run_both(bn, to_torch(bn), x, g)
    assert_close(out, out_t, "forward")
    assert_close(dx, dx_t, "input gradient")


def test_state_dict_with_buffers_loads_into_torch():
    """Train a few steps here, load the state_dict into torch: same outputs in eval mode."""
    torch = pytest.importorskip("torch")
    from helpers.torch_twin import to_torch

    rng = np.random.default_rng(5)
    model = Sequential(
        Conv2d(1, 3, 3, padding=1, rng=rng, dtype=np.float64),
        BatchNorm2d(3, dtype=np.float64),
        ReLU(),
        Flatten(),
        Linear(3 * 5 * 5, 4, rng=rng, dtype=np.float64),
        BatchNorm1d(4, dtype=np.float64),
    )
    for _ in range(3):
        model.forward(rng.normal(0.5, 2.0, (6, 1, 5, 5)))  # updates the running statistics
    twin = to_torch(
        Sequential(*[type(layer)(**layer.config()) if layer.config() else layer for layer in model])
    )  # fresh torch model
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in model.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    model.eval(), twin.eval()
    x = rng.standard_normal((4, 1, 5, 5))
    assert_close(model.forward(x), twin(torch.from_numpy(x)), "eval-mode output")


# the same numbers in any memory layout: BatchNorm takes its (C, M) rows in memory order
LAYOUTS = {
    "NCHW": lambda a: a,
    "batch last, as Conv2d stores it": lambda a: np.ascontiguousarray(
        a.transpose(1, 2, 3, 0)
    ).transpose(3, 0, 1, 2),
    "NHWC": lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
    "strided": lambda a: np.repeat(a, 2, axis=3)[..., ::2],
}


@pytest.mark.parametrize("x_layout", sorted(LAYOUTS))
@pytest.mark.parametrize("g_layout", sorted(LAYOUTS))
@pytest.mark.parametrize("training", [True, False])
def test_same_result_in_every_memory_layout(x_layout, g_layout, training):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 5, 6)) * 2 + 1
    g = rng.standard_normal(x.shape)
    plain = random_bn(BatchNorm2d, 3, np.random.default_rng(6)).train(training)
    other = random_bn(BatchNorm2d, 3, np.random.default_rng(6)).train(training)
    y, dx = plain(x), plain.backward(g)
    y_other = other(LAYOUTS[x_layout](x))
    dx_other = other.backward(LAYOUTS[g_layout](g))
    assert_close(y_other, y, f"output, input {x_layout}", atol=1e-12)
    assert_close(dx_other, dx, f"dL/dx, input {x_layout}, gradient {g_layout}", atol=1e-12)
    assert_close(other.weight.grad, plain.weight.grad, "dL/dweight", atol=1e-12)
    assert_close(other.running_var, plain.running_var, "running_var", atol=1e-12)
    if x_layout.startswith("batch last"):  # the output is stored as the input: no copy
        assert y_other.transpose(1, 2, 3, 0).flags.c_contiguous
