"""benchmarks/novelty_ensemble.py: two networks' novelty checks, combined, on the held-out
images the checks themselves hold out (small generated images, not MNIST)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script
from helpers.novelty_lines import STATS, lenet_on_lines

import cnn_numpy as cnn
from cnn_numpy.data import normalize
from cnn_numpy.tools.novelty import fit_novelty

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ensemble")
    rng = np.random.default_rng(0)
    model, X, _, y = lenet_on_lines(rng, epochs=2)
    path = folder / "model.npz"
    cnn.save(model, path, dataset="mnist", normalize=STATS, input_shape=[1, 28, 28])
    script = load_script("novelty_ensemble")
    sets = {}
    for k, name in enumerate([*script.NON_DIGITS, *script.CONDITIONS, "mnist28"]):
        digits = name in script.CONDITIONS or name == "mnist28"
        x = X[k::7, 0][:30] if digits else rng.uniform(0, 1, (30, 28, 28)).astype(np.float32)
        ok = np.full(len(x), k != 0)  # the first non-digit kind: no ink found in any
        sets[name] = (x, y[k::7][:30], ok)
    return script, X, y, path, sets


def test_a_check_beside_itself_refuses_what_it_refuses_alone(setup, tmp_path, capsys):
    script, X, y, path, sets = setup
    twin = tmp_path / "twin.npz"
    shutil.copy(path, twin)  # the same network under another name: a partner
    table = script.compare([str(path)], [str(path), str(twin)], [0], X, y, sets)
    out = capsys.readouterr().out
    assert f"| model | {twin} | sum |" in out
    assert all(partner == str(twin) for _, partner, _ in table)  # itself: skipped
    own = table[(str(path), str(twin), "own")]
    for method in ("partner", "sum", "max"):
        assert table[(str(path), str(twin), method)][:-1] == pytest.approx(own[:-1])
    # the benchmark's held-out rows are the check's: its own threshold refuses there exactly
    # the share fit_novelty reported
    check = fit_novelty(cnn.load(path), normalize(X, **STATS), y, rng=np.random.default_rng([0, 5]))
    assert own[-1] == pytest.approx(check.holdout_refused)
    assert own[1] == 1.0  # a kind without ink is refused whatever the scores


def test_a_trained_partner_is_combined_every_way(setup, capsys):
    script, X, y, path, sets = setup
    table = script.compare([str(path)], ["lenet:1"], [3], X, y, sets)
    assert [m for _, _, m in table] == list(script.METHODS)
    assert "lenet:1 (seed 3, " in capsys.readouterr().out
    for (_, _, method), cells in table.items():
        assert all(0.0 <= c <= 1.0 for c in cells)
        if method in ("sum", "max", "joint"):  # the threshold: 1.5% of 60 held-out images
            assert cells[-1] == pytest.approx(1 / 60)


def test_a_partner_that_is_not_a_network_is_a_usage_error(tmp_path):
    script = load_script("novelty_ensemble")
    with pytest.raises(SystemExit, match="neither lenet:N nor a model file"):
        script.parse_args(["m.npz", "--data-dir", "d", "--partners", str(tmp_path / "none.npz")])
