"""PyTorch's constructor arguments, as a PyTorch user writes them: each is either computed as
PyTorch computes it (``padding='same'``, ``inplace=True``), or refused with a ValueError that
says what to do here, never a TypeError or a silently other result."""

import numpy as np
import pytest
from helpers import assert_close, assert_gradients

from cnn_numpy import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
)


@pytest.mark.parametrize("kernel, padding", [(3, "same"), ((5, 3), "same"), (1, "same"),
                                             (3, "valid"), ((2, 4), "valid")])  # fmt: skip
def test_string_padding_matches_torch(kernel, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    conv = Conv2d(2, 3, kernel, padding=padding, rng=rng, dtype=np.float64)
    twin = torch.nn.Conv2d(2, 3, kernel, padding=padding).double()
    with torch.no_grad():
        twin.weight.copy_(torch.as_tensor(conv.weight.data))
        twin.bias.copy_(torch.as_tensor(conv.bias.data))
    x = rng.standard_normal((2, 2, 7, 6))
    x_t = torch.tensor(x, requires_grad=True)
    out_t = twin(x_t)
    g = rng.standard_normal(out_t.shape)
    out_t.backward(torch.as_tensor(g))
    assert_close(conv(x), out_t, f"{conv!r} forward")
    assert_close(conv.backward(g), x_t.grad, f"{conv!r} input gradient")
    assert_close(conv.weight.grad, twin.weight.grad, f"{conv!r} weight gradient")
    assert_gradients(Conv2d(2, 3, kernel, padding=padding, rng=1, dtype=np.float64), x[:1])


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Conv2d(1, 2, 4, padding="same"), "even kernel_size"),
        (lambda: Conv2d(1, 2, 3, stride=2, padding="same"), "needs stride 1"),
        (lambda: Conv2d(1, 2, 3, padding="full"), "'valid' or 'same'"),
        (lambda: Conv2d(2, 2, 3, groups=2), "groups=2 is not implemented here"),
        (lambda: Conv2d(2, 2, 3, dilation=(1, 2)), "dilation=.1, 2. is not implemented"),
        (lambda: Conv2d(2, 2, 3, 1, 0, False), "dilation=False"),  # torch's 6th: dilation
        (lambda: Conv2d(2, 2, 3, padding_mode="reflect"), "pad the input yourself"),
        (lambda: MaxPool2d(3, 2, 2), "at most half of kernel_size"),
        (lambda: MaxPool2d(2, ceil_mode=True), "ceil_mode=True"),
        (lambda: MaxPool2d(2, dilation=2), "dilation=2"),
        (lambda: MaxPool2d(2, return_indices=True), "return_indices=True"),
        (lambda: AvgPool2d(2, count_include_pad=False), "count_include_pad=False"),
        (lambda: AvgPool2d(2, divisor_override=3), "divisor_override=3"),
        (lambda: Flatten(0), "start_dim=0"),
        (lambda: Flatten(end_dim=2), "end_dim=2"),
        (lambda: ReLU(inplace="yes"), "inplace must be True or False"),
        (lambda: Dropout(0.5, rng=True), "rng must be a seed"),  # NumPy would seed with 1
        (lambda: Conv2d(1, 2, 3, device="cuda"), "Conv2d: device='cuda' is not available here"),
        (lambda: Linear(2, 3, device="cuda:0"), "Linear: device='cuda:0' .* on the CPU"),
        (lambda: BatchNorm2d(2, device="mps"), "BatchNorm2d: device='mps' .* pass 'cpu'"),
        (lambda: BatchNorm1d(2, bias=False), "BatchNorm1d: bias=False is not implemented here"),
    ],
)
def test_pytorch_arguments_not_implemented_here_are_refused_clearly(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_pytorch_defaults_spelled_out_are_taken():
    conv = Conv2d(2, 4, 3, 1, 1, (1, 1), 1, True, "zeros")
    assert conv.padding == (1, 1) and conv.bias is not None
    assert MaxPool2d(2, None, 0, 1, False, False).stride == (2, 2)
    assert AvgPool2d(2, 2, 1, False, True, None).padding == (1, 1)
    assert Flatten(1, -1)(np.ones((2, 3, 4))).shape == (2, 12)
    # device (a TypeError before) and BatchNorm's bias (PyTorch 2.13's), as PyTorch code spells them
    assert Conv2d(1, 2, 3, device="cpu").weight.shape == (2, 1, 3, 3)
    assert Linear(2, 3, device=None).weight.shape == (3, 2)
    assert BatchNorm2d(2, device="cpu", bias=True).bias.shape == (2,)


def test_a_torch_device_is_taken_for_the_cpu_only():
    torch = pytest.importorskip("torch")
    assert Linear(2, 3, device=torch.device("cpu")).weight.shape == (3, 2)
    with pytest.raises(ValueError, match=r"device=device\(type='meta'\) is not available"):
        Conv2d(1, 2, 3, device=torch.device("meta"))


@pytest.mark.parametrize("make", [lambda: ReLU(inplace=True), lambda: LeakyReLU(0.1, True),
                                  lambda: Dropout(0.5, True, rng=0)])  # fmt: skip
def test_inplace_gives_the_same_output_and_leaves_the_input(make):
    x = np.random.default_rng(0).standard_normal((3, 4))
    kept = x.copy()
    layer, plain = make(), type(make())(**make().config())
    if isinstance(layer, Dropout):
        plain = Dropout(0.5, rng=0)
    assert np.array_equal(layer(x), plain(x))
    assert np.array_equal(x, kept)


def test_a_torch_dtype_is_named_as_given():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"\(NumPy's, e.g. np.float32\), got torch.float32"):
        Conv2d(1, 2, 3, dtype=torch.float32)  # the message said "got None"


@pytest.mark.parametrize("set_to_none", [True, False])
def test_model_zero_grad_takes_set_to_none_as_the_optimizers_do(set_to_none):
    from cnn_numpy import Sequential

    model = Sequential(Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1))
    model.backward(model(np.ones((4, 2), np.float32)) * 0 + 1)
    model.zero_grad(set_to_none=set_to_none)  # a TypeError before
    assert all(not p.grad.any() for p in model.parameters())
    with pytest.raises(ValueError, match="Sequential.zero_grad: set_to_none must be True or False"):
        model.zero_grad("yes")
