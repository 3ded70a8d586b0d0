"""The benchmark scripts run (a smoke test: tiny sizes, no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("threadpoolctl")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_train_quick_prints_the_table():
    out = run(str(BENCH / "bench_train.py"), "--quick", "--nets", "seed")
    assert "float32 GEMM peak" in out
    header = next(line for line in out.splitlines() if line.startswith("| net"))
    row = next(line for line in out.splitlines() if line.split("|")[1:2] == [" seed "])
    assert header.count("|") == row.count("|")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[3].replace(",", "")) > 0                     # cnn-numpy train images/s
    assert float(cells[-2].replace(",", "")) > 0                    # cnn-numpy peak RSS
    try:
        import torch  # noqa: F401
    except ImportError:
        assert cells[4] == "-"                                      # no PyTorch: no column
    else:
        assert float(cells[5]) > 0                                  # the paired ratio


def test_profile_mode_times_every_layer():
    out = run(str(BENCH / "bench_train.py"), "--quick", "--profile", "--nets", "lenet")
    for name in ("Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "SGD step"):
        assert name in out
    assert "forward" in out and "backward" in out
