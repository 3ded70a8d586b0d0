"""The benchmark scripts run (a smoke test: tiny sizes, no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("threadpoolctl")

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_train_quick_prints_the_table():
    out = run(str(BENCH / "bench_train.py"), "--quick", "--nets", "seed")
    assert "float32 GEMM peak" in out
    header = next(line for line in out.splitlines() if line.startswith("| net"))
    rows = [line for line in out.splitlines() if line.split("|")[1:2] == [" seed "]]
    # 1 thread: one net on BLAS threads; 2 threads: that and DataParallel
    modes = [[c.strip() for c in row.strip("|").split("|")][2:4] for row in rows]
    assert modes == [["1", "BLAS threads"], ["2", "BLAS threads"], ["2", "DataParallel"]]
    for row in rows:
        assert header.count("|") == row.count("|")
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[4].replace(",", "")) > 0  # cnn-numpy train images/s
        assert float(cells[-2].replace(",", "")) > 0  # cnn-numpy peak RSS
        try:
            import torch  # noqa: F401
        except ImportError:
            assert cells[5] == "-"  # no PyTorch: no column
        else:
            assert float(cells[6]) > 0  # the paired ratio


def test_profile_mode_times_every_layer():
    out = run(str(BENCH / "bench_train.py"), "--quick", "--profile", "--nets", "lenet")
    for name in ("Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "SGD step"):
        assert name in out
    assert "forward" in out and "backward" in out


def test_the_speed_tricks_keep_the_layer_contract():
    """The first layer skips its input gradient only inside fit; backward returns dL/dx
    otherwise, and MaxPool2d still routes a tie to the first element after an eval forward."""
    import numpy as np

    from cnn_numpy import SGD, CrossEntropyLoss, MaxPool2d, fit, lenet

    rng = np.random.default_rng(0)
    X, y = rng.random((16, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 16)
    model = lenet(rng=0)
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.01),
        (X, y),
        epochs=1,
        batch_size=8,
        rng=0,
        callbacks=[],
    )
    loss = CrossEntropyLoss()
    loss.forward(model.forward(X), y)
    dx = model.backward(loss.backward())
    assert dx.shape == X.shape and dx.dtype == np.float32
    model.needs_input_grad = False
    assert model.backward(loss.backward()) is None

    pool = MaxPool2d(2).eval()
    pool.forward(np.zeros((1, 1, 2, 2)))
    assert pool.backward(np.ones((1, 1, 1, 1))).ravel().tolist() == [1, 0, 0, 0]
