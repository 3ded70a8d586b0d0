"""benchmarks/first_run.py runs the default command and reports what it measured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from helpers.idx_fixtures import fake_files, write_files

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "first_run.py"


def test_first_run_measures_the_command_side_by_side(tmp_path):
    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 40, 10))
    root = SCRIPT.parents[1]
    cmd = [sys.executable, str(SCRIPT), "--data-dir", str(data), "--against", str(root)]
    cmd += ["--", "--epochs", "1", "--quiet", "--no-report"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.strip("|").split("|") for line in done.stdout.splitlines()]
    runs = [[c.strip() for c in row] for row in rows if len(row) == 6 and row[1].strip() == "1"]
    assert sorted(r[0] for r in runs) == ["older", "this"]
    for _, _, wall, epochs, acc, rss in runs:
        assert float(wall) > 0 and epochs == "1" and 0 <= float(acc) <= 1
        assert 20 < float(rss) < 4000  # a Python process with NumPy: tens of MB at least
    assert "Model: lenet" in done.stdout  # the settings each tree ran with


def test_phases_give_the_peak_memory_between_the_output_lines(tmp_path):
    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 40, 10))
    cmd = [sys.executable, str(SCRIPT), "--data-dir", str(data), "--phases"]
    cmd += ["--", "--epochs", "2", "--no-report"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    phases = [ln for ln in done.stdout.splitlines() if ln.startswith("|   until ")]
    labels = [ln.split("'")[1] for ln in phases]
    assert "Epoch 01" in labels and "Epoch 02" in labels, labels
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in phases]
    seconds = [float(c[2]) for c in cells]
    assert seconds == sorted(seconds) and all(20 < float(c[5]) < 4000 for c in cells)


def test_a_failing_command_is_an_error(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", str(tmp_path / "none"), "--", "--epochs", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "error:" in done.stderr
