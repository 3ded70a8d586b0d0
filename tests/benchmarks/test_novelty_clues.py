"""benchmarks/novelty_clues.py: ReAct's clip, GradNorm (against finite differences and PyTorch
autograd), the k-th nearest neighbour (against a brute-force loop), and the table it prints
(small generated images, not MNIST)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script
from helpers.novelty_lines import STATS, lenet_on_lines

import cnn_numpy as cnn
from cnn_numpy.data import normalize
from cnn_numpy.tools.novelty import fit_novelty


@pytest.fixture(scope="module")
def script():
    return load_script("novelty_clues")


def test_react_clips_the_activations_then_reads_the_last_layer(script):
    h = np.array([[0.0, 1.0, 5.0, 10.0], [2.0, 3.0, 0.5, 4.5]])
    weight = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    bias = np.array([0.5, -1.0])
    # clipped at 4: [0, 1, 4, 4] and [2, 3, 0.5, 4]
    expected = np.array([[0.0 + 0.5, 4 + 4 - 1.0], [2 + 0.5, 0.5 + 4 - 1.0]])
    assert script.react_logits(h, 4.0, weight, bias) == pytest.approx(expected)
    # no bias; and a clip above every activation changes nothing: the plain logits
    assert script.react_logits(h, 4.0, weight, None) == pytest.approx(expected - bias)
    assert script.react_logits(h, 11.0, weight, bias) == pytest.approx(h @ weight.T + bias)


def kl_uniform(weight, bias, h):
    """KL(u || softmax(W h + b)) for one image, u uniform over the K classes."""
    z = weight @ h + bias
    log_p = z - z.max() - np.log(np.exp(z - z.max()).sum())
    return float(np.mean(np.log(1 / len(z)) - log_p))


def test_gradnorm_is_the_l1_norm_of_the_kl_gradient_by_finite_differences(script):
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(5, 7)), rng.normal(size=5)
    h = np.maximum(rng.normal(size=(4, 7)), 0) * 3  # ReLU outputs: some exactly 0
    got = script.gradnorm(h, h @ weight.T + bias)
    step = 1e-6
    for n in range(len(h)):
        grad = np.zeros_like(weight)
        for i, j in np.ndindex(weight.shape):
            d = np.zeros_like(weight)
            d[i, j] = step
            grad[i, j] = (
                kl_uniform(weight + d, bias, h[n]) - kl_uniform(weight - d, bias, h[n])
            ) / (2 * step)
        assert got[n] == pytest.approx(np.abs(grad).sum(), rel=1e-6)
    assert script.gradnorm(np.zeros((1, 7)), np.zeros((1, 5)))[0] == 0.0


def test_gradnorm_is_pytorchs(script):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    weight, bias = rng.normal(size=(10, 16)), rng.normal(size=10)
    h = np.maximum(rng.normal(size=(6, 16)), 0)
    got = script.gradnorm(h, h @ weight.T + bias)
    for n in range(len(h)):
        w = torch.tensor(weight, requires_grad=True)
        z = w @ torch.tensor(h[n]) + torch.tensor(bias)
        uniform = torch.full((10,), 0.1, dtype=torch.float64)
        kl = torch.nn.functional.kl_div(z.log_softmax(0), uniform, reduction="sum")
        kl.backward()
        assert got[n] == pytest.approx(w.grad.abs().sum().item(), rel=1e-9)


def test_the_kth_neighbour_is_the_brute_force_ones(script, monkeypatch):
    monkeypatch.setattr(script, "CHUNK", 3)  # queries in several chunks
    rng = np.random.default_rng(2)
    memory = script.unit(np.abs(rng.normal(size=(40, 6))))
    queries = script.unit(rng.normal(size=(7, 6)))
    ks = [1, 5, 40]
    got = script.knn_distance(queries, memory, ks)
    for n, q in enumerate(queries.astype(np.float64)):
        distances = sorted(
            np.sqrt(sum((q[d] - m[d]) ** 2 for d in range(6))) for m in memory.astype(np.float64)
        )
        assert got[n] == pytest.approx([distances[k - 1] for k in ks], rel=1e-5, abs=1e-6)
    # a stored image is its own first neighbour
    assert script.knn_distance(memory[:4], memory, [1])[:, 0] == pytest.approx(0, abs=1e-3)
    with pytest.raises(ValueError, match="k = 41 neighbours asked of 40 stored images"):
        script.knn_distance(queries, memory, [41])


def test_unit_rows(script):
    f = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert script.unit(f) == pytest.approx(np.array([[0.6, 0.8], [0.0, 0.0]]))
    assert script.unit(f).dtype == np.float32


def test_the_memory_is_the_gaussians_training_images(script):
    rows, _ = script.held_out(500, 3)
    memory = script.rows_of_fit(500, 3, len(rows))
    assert len(rows) == 100 and len(memory) == 400
    assert sorted([*rows, *memory]) == list(range(500))  # disjoint, every image once


@pytest.fixture(scope="module")
def trained(script):
    rng = np.random.default_rng(0)
    model, X, Xn, y = lenet_on_lines(rng)
    sets = {}
    for k, name in enumerate([*script.NON_DIGITS, *script.photo_novelty.CONDITIONS]):
        digits = k >= len(script.NON_DIGITS)
        x = X[k::7, 0][:20] if digits else rng.uniform(0, 1, (20, 28, 28)).astype(np.float32)
        sets[name] = (x, y[k::7][:20], np.full(len(x), True))
    sets["mnist28"] = (X[:60, 0], y[:60], np.full(60, True))
    return model, X, y, sets


def test_the_table_holds_every_method_and_the_check_as_it_is(script, trained, tmp_path, capsys):
    model, X, y, sets = trained
    path = tmp_path / "model.npz"
    cnn.save(model, path, dataset="mnist", normalize=STATS, input_shape=[1, 28, 28])
    table = script.compare([str(path)], X, y, sets, [90, 99], [3, 10], every=(90, 10))
    out = capsys.readouterr().out
    assert "| model | + knn stages 10 |" in out and "kNN memory of 240 images" in out
    methods = ["check", *script.method_clues([90, 99], [3, 10], (90, 10))]
    assert [m for _, m in table] == methods
    assert not any("|" in m for m in methods)  # each name one cell of the Markdown table
    check = fit_novelty(model, normalize(X, **STATS), y, rng=np.random.default_rng([0, 5]))
    assert table[(str(path), "check")][-1] == pytest.approx(check.holdout_refused)
    for (_, method), cells in table.items():
        assert all(0.0 <= c <= 1.0 for c in cells)
        if method != "check":  # re-thresholded: 1.5% of the 60 held-out images
            assert cells[-1] == pytest.approx(1 / 60)
    assert "| + all three |" in out.split("| clears |")[1]  # the bar's table


def test_the_checks_own_clues_learned_again_are_the_check(script, trained):
    """The replay of the learned part: the check's clues, fitted again on the held-out images
    and made-up outliers of the benchmark, give the check's own scores (so a row with a clue
    more differs from the check by that clue alone), up to float32 rounding: the outliers'
    features come through the network in other batches."""
    model, X, y, _ = trained
    Xn = normalize(X, **STATS).astype(np.float32)
    check = fit_novelty(model, Xn, y, rng=np.random.default_rng([0, 5]))
    rows, rng = script.held_out(len(X), 0)
    fit, made = script.learned_part(Xn, y, rows, rng)
    memory_rows = script.rows_of_fit(len(X), 0, len(rows))
    feats, _ = script.stage_features(model, Xn, check.stages, rows=memory_rows)
    h = script.stage_features(model, Xn, [script.Stage(8, "flat")], rows=memory_rows)[0][0]
    memory = {"h": script.unit(h), **{s: script.unit(f) for s, f in enumerate(feats)}}
    memory["clip"] = {90: float(np.percentile(h, 90))}
    images = {"held": Xn[rows], "made": made}
    found = script.all_clues(check, model, images, memory, [90], [5])
    spec = ([("check", "distances")], [("check", "logits")])
    again = script.method_scores(check, found, fit, spec)
    for name, x in images.items():
        assert again[name] == pytest.approx(check.score(model, x), rel=1e-4, abs=1e-7)
    # the clues are the formulas' on the network's own penultimate activations and logits
    last = model.layers[-1]
    h_held = script.stage_features(model, Xn[rows], [script.Stage(8, "flat")])[0][0]
    z = h_held.astype(np.float64) @ last.weight.data.T.astype(np.float64) + last.bias.data
    assert found["held"]["gradnorm"] == pytest.approx(np.log(script.gradnorm(h_held, z)), rel=1e-4)
    clipped = np.minimum(h_held, memory["clip"][90]) @ last.weight.data.T + last.bias.data
    energy = np.log(np.exp(clipped.astype(np.float64)).sum(axis=1))
    assert found["held"]["react90"][:, 1] == pytest.approx(energy, rel=1e-4)
    knn = script.knn_distance(script.unit(h_held), memory["h"], [5])[:, 0]
    assert found["held"]["knn5"] == pytest.approx(np.log(knn), rel=1e-5, abs=1e-6)


def test_the_bar(script, capsys):
    # cells: all, 7 kinds, MNIST refused, worst photo, all at, letters at, handwr. at, held
    def cells(every, letters, mnist, at, letters_at):
        return [every, 0.9, letters, 0.8, 1, 1, 0.9, 0.8, mnist, 0.92, at, letters_at, 0.8, 0.015]

    models = ["a", "b"]
    table = {}
    for m in models:
        table[(m, "check")] = cells(0.88, 0.75, 0.018, 0.88, 0.75)
        table[(m, "better")] = cells(0.90, 0.77, 0.018, 0.90, 0.77)
        table[(m, "too many digits")] = cells(0.90, 0.77, 0.021, 0.90, 0.77)
        table[(m, "letters down")] = cells(0.90, 0.73, 0.018, 0.90, 0.77)
        table[(m, "only the own threshold")] = cells(0.90, 0.77, 0.018, 0.89, 0.77)
    table[("b", "better")][0] = 0.894  # on average +1.7: still clears
    assert script.bar(table, models) == {
        "better": True,
        "too many digits": False,
        "letters down": False,
        "only the own threshold": False,
    }
    assert "| better | +1.7 | +2.0 | +2.0 | +2.0 | 1.8% | yes |" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--percentiles", "0"], "--percentiles must be"),
        (["--ks", "0"], "--ks must be"),
        (["--matched", "2"], "--matched must"),
        (["--all", "90", "7"], "k one of --ks"),
    ],
)
def test_a_bad_argument_is_a_usage_error(script, capsys, bad, message):
    with pytest.raises(SystemExit) as exit_:
        script.parse_args(["m.npz", "--data-dir", "d", *bad])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "lists, row",
    [
        ([], [90, 50]),
        (["--percentiles", "90", "--ks", "10"], [90, 10]),  # once: "--all 90 50: ... one of --ks"
        (["--percentiles", "95", "99", "80", "--ks", "200", "5"], [95, 200]),
        (["--ks", "10", "--all", "85", "10"], [85, 10]),
    ],
)
def test_the_all_row_defaults_to_values_of_the_lists_given(script, lists, row):
    args = script.parse_args(["m.npz", "--data-dir", "d", *lists])
    assert list(args.all) == row
