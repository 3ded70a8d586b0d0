"""benchmarks/novelty_preprocessing.py: the novelty score's gradient with respect to the image
(checked against central differences in float64), and the table it prints (small generated
images, not MNIST)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script
from helpers.novelty_lines import STATS, lenet_on_lines, lines

import cnn_numpy as cnn
from cnn_numpy.data import normalize
from cnn_numpy.tools.input_gradients.backprop import in_precision_of
from cnn_numpy.tools.novelty import fit_novelty, stage_features

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def script():
    return load_script("novelty_preprocessing")


@pytest.fixture(scope="module")
def fitted():
    """A LeNet trained briefly on the lines, its check (learned combination) and the images."""
    rng = np.random.default_rng(0)
    model, X, Xn, y = lenet_on_lines(rng)
    return model, fit_novelty(model, Xn, y, rng=0), Xn, y


def central_differences(score, x: np.ndarray, direction: np.ndarray, h: float = 1e-6):
    """(score(x + h d) - score(x - h d)) / 2h, image by image: d score / dx along d."""
    return (score(x + h * direction) - score(x - h * direction)) / (2 * h)


@pytest.mark.parametrize("learned", [True, False])
def test_the_gradient_is_the_scores_derivative(script, fitted, learned):
    model, check, Xn, _ = fitted
    if not learned:  # a file from before 2026-12: the stages' root mean square
        check = fit_novelty(model, Xn, fitted[3], rng=0, learn=False)
    assert (check.combination is not None) == learned
    rng = np.random.default_rng(3)
    x = Xn[:3].astype(np.float64) + rng.normal(0, 0.3, (3, 1, 28, 28))
    x = np.concatenate([x, rng.normal(0, 1, (2, 1, 28, 28))])  # and two outliers
    net = in_precision_of(model, x)  # a float64 copy: the check in float64
    mode, grads = net.training, [p.grad.copy() for p in net.parameters()]
    score, grad = script.score_and_gradient(check, net, x)
    # the score is the check's own (which pools in float32)
    assert score == pytest.approx(check.score(model, x.astype(np.float32)), rel=1e-4)
    for _ in range(3):
        d = rng.normal(size=x.shape)
        expected = central_differences(lambda v: script.score_and_gradient(check, net, v)[0], x, d)
        got = (grad * d).reshape(len(x), -1).sum(axis=1)
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-7 * np.abs(expected).max())
    assert np.abs(grad).max() > 0
    # eval mode throughout, the parameters' gradients untouched
    assert net.training == mode
    assert all(np.array_equal(p.grad, g) for p, g in zip(net.parameters(), grads))


def test_one_pixel_at_a_time(script, fitted):
    model, check, Xn, _ = fitted
    x = Xn[5:6].astype(np.float64)
    net = in_precision_of(model, x)
    _, grad = script.score_and_gradient(check, net, x)
    for i, j in [(13, 14), (9, 20), (4, 4)]:
        one = np.zeros_like(x)
        one[0, 0, i, j] = 1.0
        expected = central_differences(
            lambda v: script.score_and_gradient(check, net, v)[0], x, one
        )
        assert grad[0, 0, i, j] == pytest.approx(expected[0], rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("stage", [0, 2, 4])  # first conv block's channels, ..., the logits
def test_each_stages_own_gradient(script, fitted, stage):
    model, check, Xn, _ = fitted
    assert len(check.stages) == 5
    rng = np.random.default_rng(5)
    x = Xn[7:10].astype(np.float64) + rng.normal(0, 0.3, (3, 1, 28, 28))
    net = in_precision_of(model, x)
    log_r, grad = script.score_and_gradient(check, net, x, stage=stage)
    for _ in range(2):
        d = rng.normal(size=x.shape)
        expected = central_differences(
            lambda v: script.score_and_gradient(check, net, v, stage=stage)[0], x, d
        )
        got = (grad * d).reshape(len(x), -1).sum(axis=1)
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-7 * np.abs(expected).max())
    # the clue the check reads at that stage: log of its distance over its scale
    features, _ = stage_features(model, x.astype(np.float32), [check.stages[stage]])
    r = check.gaussians[stage].distance(features[0]) / check.scales[stage]
    assert log_r == pytest.approx(np.log(r), rel=1e-4, abs=1e-4)


def test_a_step_against_the_gradient_lowers_the_score(script, fitted):
    model, check, Xn, _ = fitted
    x = Xn[:20]
    signs = script.gradient_signs(check, model, x, batch=7)  # batches: the same signs
    assert np.array_equal(signs, np.sign(script.score_and_gradient(check, model, x)[1]))
    x64 = x.astype(np.float64)
    net = in_precision_of(model, x64)
    before = script.score_and_gradient(check, net, x64)[0]
    after = script.score_and_gradient(check, net, x64 - 1e-6 * signs)[0]
    assert np.all(after < before)  # to first order by eps * |gradient|_1


def test_the_table_at_eps_0_is_the_check_as_it_is(script, fitted, tmp_path, capsys):
    model, _, _, _ = fitted
    rng = np.random.default_rng(4)
    X, y = lines(300, np.random.default_rng(0))  # the images the model was trained on
    path = tmp_path / "model.npz"
    cnn.save(model, path, dataset="mnist", normalize=STATS, input_shape=[1, 28, 28])
    sets = {}
    for k, name in enumerate([*script.NON_DIGITS, *script.photo_novelty.CONDITIONS]):
        digits = k >= len(script.NON_DIGITS)
        x = X[k::7, 0][:20] if digits else rng.uniform(0, 1, (20, 28, 28)).astype(np.float32)
        sets[name] = (x, y[k::7][:20], np.full(len(x), True))
    sets["mnist28"] = (X[:60, 0], y[:60], np.full(60, True))
    table = script.compare([str(path)], [0.0, 0.05], X, y, sets, per_stage=True)
    assert "| model | 0.05 | stages, learned again |" in capsys.readouterr().out
    assert {key[1:] for key in table} == {(e, m) for e in (0.0, 0.05) for m in script.METHODS}
    check = fit_novelty(model, normalize(X, **STATS), y, rng=np.random.default_rng([0, 5]))
    plain = table[(str(path), 0.0, "score")]
    assert plain[-1] == pytest.approx(check.holdout_refused)  # the check's own held-out rows
    # unmoved, each stage read on its own is the check itself, and its weights fitted again
    # on the same held-out images and made-up outliers are the check's own
    for method in ("stages", "stages, learned again"):
        assert table[(str(path), 0.0, method)] == pytest.approx(plain)
    for cells in table.values():
        assert all(0.0 <= c <= 1.0 for c in cells)
        assert cells[-1] == pytest.approx(1 / 60)  # re-thresholded: 1.5% of 60 held out


@pytest.mark.parametrize(
    "bad, message",
    [(["--epsilons", "-0.01"], "--epsilons must be"), (["--matched", "2"], "--matched must")],
)
def test_a_bad_argument_is_a_usage_error(script, capsys, bad, message):
    with pytest.raises(SystemExit) as exit_:
        script.parse_args(["m.npz", "--data-dir", "d", *bad])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def torch_score(check, twin, x):
    """The check's score, written with torch ops on the torch twin, for autograd."""
    import torch

    last = len(twin) - 1
    reads = [s.layer if s.layer >= 0 else last for s in check.stages]
    outputs, a = [], x
    for layer in twin:
        a = layer(a)
        outputs.append(a)
    n = len(x)
    r = []
    for stage, i, g, scale in zip(check.stages, reads, check.gaussians, check.scales):
        act = outputs[i]
        if stage.pooling == "channels":
            maps = act.reshape(n, act.shape[1], -1)
            f = torch.cat([maps.mean(2), maps.std(2, unbiased=False)], dim=1)
        elif stage.pooling == "grid":
            h, w = act.shape[2] // 2, act.shape[3] // 2
            quarters = [act[:, :, :h, :w], act[:, :, :h, w:], act[:, :, h:, :w], act[:, :, h:, w:]]
            f = torch.stack([q.mean((2, 3)) for q in quarters], dim=2).reshape(n, -1)
        else:
            f = act.reshape(n, -1)
        diffs = f[:, None, :] - torch.as_tensor(g.means)[None]
        squared = torch.einsum("nkd,kde,nke->nk", diffs, torch.as_tensor(g.precisions), diffs)
        r.append(torch.sqrt(squared.min(dim=1).values) / scale)
    logits = outputs[-1]
    top = torch.sort(logits, dim=1).values[:, -2:]
    clue = torch.stack(
        [*(torch.log(v) for v in r), top[:, 1] - top[:, 0], torch.logsumexp(logits, 1)], 1
    )
    comb = check.combination
    low, high = torch.as_tensor(comb.low), torch.as_tensor(comb.high)
    t = (torch.clamp(clue, low, high) - torch.as_tensor(comb.mean)) / torch.as_tensor(comb.std)
    return torch.nn.functional.softplus(t @ torch.as_tensor(comb.weights) + comb.bias)


def test_the_gradient_is_pytorchs(script, fitted):
    torch = pytest.importorskip("torch")
    from helpers.torch_twin import to_torch

    model, check, Xn, _ = fitted
    rng = np.random.default_rng(6)
    x = np.concatenate([Xn[:3].astype(np.float64), rng.normal(0, 1, (2, 1, 28, 28))])
    net = in_precision_of(model, x)
    score, grad = script.score_and_gradient(check, net, x)
    twin = to_torch(net).eval()
    xt = torch.tensor(x, requires_grad=True)
    theirs = torch_score(check, twin, xt)
    theirs.sum().backward()
    assert score == pytest.approx(theirs.detach().numpy(), rel=1e-9)
    assert np.allclose(grad, xt.grad.numpy(), rtol=1e-7, atol=1e-9 * np.abs(grad).max())
