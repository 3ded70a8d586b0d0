"""benchmarks/novelty_training.py trains its variants and fits their checks; photo_novelty.py's
--matched table compares checks at the same share of digits refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script
from helpers.idx_fixtures import fake_files, write_files

import cnn_numpy as cnn

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def test_each_variant_trains_and_gets_a_check(tmp_path, capsys):
    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 300, 20))
    script = load_script("novelty_training")
    argv = ["--data-dir", str(data), "--out", str(tmp_path / "out"), "--epochs", "1"]
    argv += ["--variants", "plain", "outliers:0.5", "shift:1", "--seeds", "3"]
    assert script.main(argv) == 0
    rows = [
        ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| ") and ".npz" in ln
    ]
    assert [r.split("|")[1].strip() for r in rows] == ["plain", "outliers:0.5", "shift:1"]
    for name in ("plain-seed3", "outliers0.5-seed3", "shift1-seed3"):
        path = tmp_path / "out" / f"{name}.npz"
        check = cnn.load_novelty(path)
        assert check is not None and np.isfinite(check.threshold)
        assert cnn.load_card(path)["normalize"]["std"] > 0


def test_the_outliers_gradient_is_that_of_the_uniform_cross_entropy():
    script = load_script("novelty_training")
    z = np.random.default_rng(1).standard_normal((4, 10))

    def loss(z):  # weight 0.5 * mean over rows of -mean over classes of log softmax
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return 0.5 * np.mean(-log_p.mean(axis=1))

    numeric = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[i] = 1e-6
        numeric[i] = (loss(z + step) - loss(z - step)) / 2e-6
    np.testing.assert_allclose(script.uniform_target_grad(z, 0.5), numeric, rtol=1e-5, atol=1e-9)


def test_an_unknown_variant_is_a_usage_error(tmp_path):
    script = load_script("novelty_training")
    for bad in ("mixup", "outliers", "shift:x", "plain:1"):
        with pytest.raises(SystemExit, match="unknown variant"):
            script.parse_args(["--data-dir", "d", "--out", "o", "--variants", bad])


def test_the_matched_table_refuses_at_the_digits_quantile(capsys):
    photo = load_script("photo_novelty")
    kinds = photo.NON_DIGITS
    digits = np.linspace(0, 1, 1001)  # 1.7% of them above the 98.3% quantile
    result = {"mnist28": (None, None, digits)}
    for k, kind in enumerate(kinds):  # kind k: k of 10 scores above every digit's
        result[kind] = (None, None, np.r_[np.full(k, 5.0), np.full(10 - k, 0.5)])
    photo.matched_table([result], "m", 1, 0.017)
    lines = capsys.readouterr().out.splitlines()
    cells = {ln.split("|")[1].strip(): ln.split("|")[3].strip() for ln in lines[3:]}
    for k, kind in enumerate(kinds):
        assert cells[kind] == f"{k / 10:.1%}"
    assert cells["all"] == f"{sum(range(len(kinds))) / (10 * len(kinds)):.1%}"
    assert "1.7% of raw MNIST" in lines[1]
