"""benchmarks/bench_exercises.py runs (a smoke test: tiny sizes, no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("threadpoolctl")

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_exercises.py"


def test_bench_exercises_prints_a_row_per_convolution():
    args = ["--batch", "2", "--naive-batch", "1", "--repeats", "1", "--naive-repeats", "1"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [" ".join(row[:2]) for row in rows] == ["seed conv1", "lenet conv1", "lenet conv2"]
    assert all(float(cell) >= 0 for row in rows for cell in row[2:])
