"""Forward, input gradient and parameter gradients equal PyTorch's, in float64.

Skipped when torch is not installed; CI installs torch==2.13.0 (CPU) so they run there.
"""

import numpy as np
import pytest
from helpers import assert_close, distinct_values

from cnn_numpy import (
    SGD,
    Adam,
    AdamW,
    Conv2d,
    CrossEntropyLoss,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    lenet,
    seed_net,
)

torch = pytest.importorskip("torch")
nn = torch.nn
from helpers.torch_twin import to_torch  # noqa: E402  (after the skip: it needs torch)


def compare_with_torch(layer, x):
    """Run both with the same input and upstream gradient; compare output and all gradients."""
    x_t = torch.tensor(x, requires_grad=True)
    out_t = to_torch(layer)
    ref = out_t(x_t)
    g = np.random.default_rng(0).standard_normal(ref.shape)
    ref.backward(torch.from_numpy(g))
    layer.zero_grad()
    out = layer(x)
    assert_close(out, ref, f"{layer!r} forward")
    assert_close(layer.backward(g), x_t.grad, f"{layer!r} input gradient")
    torch_params = dict(out_t.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, torch_params[name].grad, f"{layer!r} {name}.grad")


@pytest.mark.parametrize(
    "shape, out_ch, k, s, p, bias",
    [
        ((2, 1, 8, 8), 4, 3, 1, 0, True),
        ((3, 2, 9, 7), 3, (3, 2), 1, 1, True),
        ((2, 3, 10, 10), 5, 3, 2, 1, False),
        ((1, 2, 6, 9), 2, (2, 4), (2, 3), (1, 2), True),
        ((4, 16, 7, 7), 8, 3, 1, 1, True),
    ],
)
def test_conv2d_matches_torch(shape, out_ch, k, s, p, bias):
    rng = np.random.default_rng(1)
    conv = Conv2d(shape[1], out_ch, k, s, p, bias=bias, rng=rng, dtype=np.float64)
    compare_with_torch(conv, rng.standard_normal(shape))


@pytest.mark.parametrize(
    "shape, k, s",
    [
        ((2, 3, 8, 8), 2, None),
        ((2, 2, 9, 7), 3, 2),
        ((1, 2, 7, 8), (2, 3), (1, 2)),
        ((2, 1, 6, 6), 3, 1),
    ],
)
def test_maxpool_matches_torch(shape, k, s):
    compare_with_torch(MaxPool2d(k, s), distinct_values(np.random.default_rng(2), shape))


@pytest.mark.parametrize(
    "shape, k, s, p",
    [((2, 3, 9, 9), 3, 2, 1), ((1, 2, 7, 8), (2, 3), (1, 2), (1, 0)), ((2, 1, 6, 6), 3, 1, 1)],
)
def test_padded_maxpool_matches_torch(shape, k, s, p):
    x = distinct_values(np.random.default_rng(3), shape) - 5  # negative: -inf padding matters
    compare_with_torch(MaxPool2d(k, s, p), x)
    compare_with_torch(MaxPool2d(k, s, p).eval(), x)


@pytest.mark.parametrize("k, s", [(2, None), (3, 2), (2, 1)])
def test_maxpool_ties_after_relu_match_torch(k, s):
    x = np.maximum(np.random.default_rng(3).integers(-2, 2, size=(2, 3, 8, 8)), 0).astype(float)
    compare_with_torch(MaxPool2d(k, s), x)
    compare_with_torch(Sequential(ReLU(), MaxPool2d(k, s)), x - 0.5)


def test_relu_linear_flatten_match_torch():
    rng = np.random.default_rng(4)
    compare_with_torch(ReLU(), distinct_values(rng, (3, 4, 5)))
    compare_with_torch(Flatten(), rng.standard_normal((2, 3, 4, 5)))
    compare_with_torch(Linear(6, 3, rng=rng, dtype=np.float64), rng.standard_normal((4, 6)))
    compare_with_torch(
        Linear(6, 3, bias=False, rng=rng, dtype=np.float64), rng.standard_normal((4, 6))
    )


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_cross_entropy_matches_torch(scale):
    rng = np.random.default_rng(5)
    logits = scale * rng.standard_normal((6, 5))
    targets = rng.integers(0, 5, 6)
    logits_t = torch.tensor(logits, requires_grad=True)
    ref = nn.CrossEntropyLoss()(logits_t, torch.from_numpy(targets))
    ref.backward()
    loss = CrossEntropyLoss()
    assert loss(logits, targets) == pytest.approx(ref.item(), rel=1e-12)
    assert_close(loss.backward(), logits_t.grad, "dL/dlogits")


@pytest.mark.parametrize(
    "make",
    [
        lambda: seed_net(10, rng=0, dtype=np.float64),
        lambda: seed_net(3, filters=4, blocks=2, rng=0, dtype=np.float64),
        lambda: lenet(rng=0, dtype=np.float64),
    ],
)
def test_whole_net_matches_torch(make):
    compare_with_torch(make(), np.random.default_rng(6).random((3, 1, 28, 28)))


def test_state_dict_loads_into_torch_sequential():
    model = lenet(rng=0)
    state = model.state_dict()
    assert list(state) == [
        "0.weight",
        "0.bias",
        "3.weight",
        "3.bias",
        "7.weight",
        "7.bias",
        "9.weight",
        "9.bias",
    ]
    t = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1568, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    t.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    x = np.random.default_rng(7).random((4, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        ref = t(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "make_ours, make_torch",
    [
        (lambda p: SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        (
            lambda p: SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-2),
            lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-2),
        ),
        (
            lambda p: SGD(p, lr=0.05, momentum=0.8, nesterov=True),
            lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
        ),
        (lambda p: Adam(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
        (
            lambda p: Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
            lambda p: torch.optim.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
        ),
        (
            lambda p: SGD(p, lr=0.05, momentum=0.9, dampening=0.3, maximize=True),
            lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3, maximize=True),
        ),
        (lambda p: SGD(p), lambda p: torch.optim.SGD(p)),  # the default lr, 1e-3
        (
            lambda p: Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True),
            lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True),
        ),
        (lambda p: AdamW(p, lr=1e-2), lambda p: torch.optim.AdamW(p, lr=1e-2)),
        (
            lambda p: AdamW(p, lr=1e-2, weight_decay=0.3, amsgrad=True),
            lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.3, amsgrad=True),
        ),
        (
            lambda p: Adam(p, lr=1e-2, weight_decay=0.3, decoupled_weight_decay=True),
            lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.3),
        ),
    ],
)
def test_optimizer_steps_match_torch(make_ours, make_torch):
    model = seed_net(3, filters=2, image_size=8, rng=0, dtype=np.float64)
    t = to_torch(model)
    opt, opt_t = make_ours(model.parameters()), make_torch(t.parameters())
    rng = np.random.default_rng(8)
    loss, loss_t = CrossEntropyLoss(), nn.CrossEntropyLoss()
    for _ in range(5):
        x, y = rng.random((4, 1, 8, 8)), rng.integers(0, 3, 4)
        opt.zero_grad()
        loss(model(x), y)
        model.backward(loss.backward())
        opt.step()
        opt_t.zero_grad()
        loss_t(t(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt_t.step()
    torch_params = dict(t.named_parameters())
    for name, p in model.named_parameters():
        assert_close(p.data, torch_params[name], f"{name} after 5 steps", rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "shape, k, s, p",
    [
        ((3, 2, 40, 40), 3, 1, 1),  # 4,800 output columns: more than one GEMM block
        ((2, 3, 70, 66), (3, 5), (1, 2), (1, 2)),
    ],
)
def test_conv2d_with_several_column_blocks_matches_torch(shape, k, s, p):
    rng = np.random.default_rng(9)
    conv = Conv2d(shape[1], 4, k, s, p, rng=rng, dtype=np.float64)
    compare_with_torch(conv, rng.standard_normal(shape))


def test_maxpool_backward_after_an_eval_forward_matches_torch():
    """In eval mode forward skips the argmax bookkeeping; backward must still be right."""
    x = np.maximum(np.random.default_rng(10).integers(-2, 3, size=(2, 3, 9, 9)), 0).astype(float)
    for k, s in [(2, None), (3, 2)]:
        pool = MaxPool2d(k, s).eval()
        compare_with_torch(pool, x)
