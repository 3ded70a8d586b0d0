"""Residual, AdaptiveAvgPool2d and the resnet preset equal PyTorch's (float64, <= 1e-7)."""

import numpy as np
import pytest
from helpers import assert_close

from cnn_numpy import (
    SGD,
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    ReLU,
    Residual,
    Sequential,
    resnet,
)

torch = pytest.importorskip("torch")
nn = torch.nn
from helpers.torch_twin import TorchResidual, to_torch  # noqa: E402  (it needs torch)

PARITY = dict(rtol=1e-7, atol=1e-10)  # the bound, float64


def compare_with_torch(layer, x):
    twin = to_torch(layer)
    x_t = torch.tensor(x, requires_grad=True)
    ref = twin(x_t)
    g = np.random.default_rng(0).standard_normal(ref.shape)
    ref.backward(torch.from_numpy(g))
    layer.zero_grad()
    assert_close(layer(x), ref, f"{layer!r} forward", **PARITY)
    assert_close(layer.backward(g), x_t.grad, f"{layer!r} input gradient", **PARITY)
    theirs = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, theirs[name].grad, f"{name}.grad", **PARITY)


def basic_block(c_in, c_out, stride, rng):
    f64 = dict(bias=False, rng=rng, dtype=np.float64)
    block = Sequential(
        Conv2d(c_in, c_out, 3, stride=stride, padding=1, **f64),
        BatchNorm2d(c_out, dtype=np.float64),
        ReLU(),
        Conv2d(c_out, c_out, 3, padding=1, **f64),
        BatchNorm2d(c_out, dtype=np.float64),
    )
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = Sequential(
            Conv2d(c_in, c_out, 1, stride=stride, **f64), BatchNorm2d(c_out, dtype=np.float64)
        )
    return Residual(block, shortcut)


@pytest.mark.parametrize("c_in, c_out, stride", [(3, 3, 1), (2, 4, 2), (4, 6, 1)])
@pytest.mark.parametrize("training", [True, False])
def test_residual_matches_torch(c_in, c_out, stride, training):
    rng = np.random.default_rng(1)
    res = basic_block(c_in, c_out, stride, rng).train(training)
    compare_with_torch(res, rng.standard_normal((3, c_in, 8, 8)))


@pytest.mark.parametrize(
    "output_size, shape",
    [(1, (2, 4, 7, 7)), ((1, 1), (3, 2, 5, 6)), (2, (2, 3, 6, 6)), ((3, 2), (2, 2, 7, 5)),
     ((5, 4), (1, 2, 3, 3)), (7, (2, 1, 7, 7)), ((None, 2), (2, 2, 5, 7)),
     ((3, None), (1, 2, 7, 4)), ((None, None), (2, 1, 3, 4))],
)  # fmt: skip
def test_adaptive_avg_pool_matches_torch(output_size, shape):
    compare_with_torch(AdaptiveAvgPool2d(output_size), np.random.default_rng(2).random(shape))


def test_residual_state_dict_loads_strictly_into_torch_modules():
    ours = Sequential(
        Conv2d(1, 4, 3, padding=1, rng=0),
        Residual(
            Sequential(Conv2d(4, 8, 3, stride=2, padding=1, rng=0), BatchNorm2d(8), ReLU()),
            Sequential(Conv2d(4, 8, 1, stride=2, rng=0), BatchNorm2d(8)),
        ),
        Residual(Sequential(Conv2d(8, 8, 3, padding=1, rng=0))),
    ).eval()
    theirs = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        TorchResidual(
            nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
            nn.Sequential(nn.Conv2d(4, 8, 1, stride=2), nn.BatchNorm2d(8)),
        ),
        TorchResidual(nn.Sequential(nn.Conv2d(8, 8, 3, padding=1))),
    ).eval()
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state, strict=True)
    x = np.random.default_rng(3).random((2, 1, 10, 10)).astype(np.float32)
    with torch.no_grad():
        ref = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3)])
def test_whole_resnet_matches_torch(size, channels):
    model = resnet(10, in_channels=channels, image_size=size, rng=0, dtype=np.float64)
    compare_with_torch(model, np.random.default_rng(4).random((3, channels, size, size)))


def test_resnet_equals_its_torch_twin_after_sgd_steps():
    model = resnet(4, width=4, blocks=(2, 1), image_size=12, rng=0, dtype=np.float64)
    twin = to_torch(model)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    opt_t = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    loss, loss_t = CrossEntropyLoss(), nn.CrossEntropyLoss()
    rng = np.random.default_rng(5)
    for _ in range(4):
        x, y = rng.random((6, 1, 12, 12)), rng.integers(0, 4, 6)
        opt.zero_grad()
        loss(model(x), y)
        model.backward(loss.backward())
        opt.step()
        opt_t.zero_grad()
        loss_t(twin(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt_t.step()
    theirs = twin.state_dict()
    for name, value in model.state_dict().items():
        assert_close(value, theirs[name], f"{name} after 4 steps", rtol=1e-7, atol=1e-9)
    model.eval(), twin.eval()
    x = rng.random((3, 1, 12, 12))
    with torch.no_grad():
        assert_close(model(x), twin(torch.from_numpy(x)), "eval logits", **PARITY)
