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


def table_rows(out: str) -> list[list[str]]:
    """The cells of a markdown table's body rows."""
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[1:]]


def number(cell: str) -> float:
    return float(cell.split()[0].replace(",", "").replace("*", "").rstrip("×"))


def test_bench_train_quick_prints_the_cpu_and_the_three_workloads():
    out = run(str(BENCH / "bench_train.py"), "--quick")
    assert "CPU: " in out and "AVX-512" in out and "GEMM peak" in out
    rows = table_rows(out)
    assert [row[0].split(",")[0] for row in rows] == ["LeNet", "LeNet", "seed net"]
    for row in rows:
        assert number(row[1]) > 0  # cnn-numpy images/s
        try:
            import torch  # noqa: F401
        except ImportError:
            assert row[2] == "-"
        else:
            assert number(row[2]) > 0 and number(row[3]) > 0  # PyTorch, the ratio


def test_bench_train_scaling_times_a_step_per_size(tmp_path):
    picture = tmp_path / "scaling.png"
    out = run(str(BENCH / "bench_train.py"), "--quick", "--scaling", "--plot", str(picture))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = table_rows(out)
    assert [(r[0], r[1], r[2]) for r in rows] == [("lenet", "28", "1"), ("lenet", "28", "8")]
    assert all(number(r[3]) > 0 for r in rows)


def test_profile_mode_times_every_layer():
    out = run(str(BENCH / "bench_train.py"), "--quick", "--profile")
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
