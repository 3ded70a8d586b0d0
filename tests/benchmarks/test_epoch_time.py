"""benchmarks/epoch_time.py times one epoch of the command for each row of flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from helpers.idx_fixtures import fake_files, write_files

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "epoch_time.py"


def test_each_row_gets_its_epochs_seconds_and_a_ratio_to_the_first(tmp_path):
    data = write_files(tmp_path / "mnist", fake_files(np.random.default_rng(0), 40, 10))
    cmd = [sys.executable, str(SCRIPT), "--data-dir", str(data), "--dataset", "mnist"]
    cmd += ["--runs", "2", "--rows", "--model lenet --workers 1", "--model resnet --workers 2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    runs = [ln for ln in done.stdout.splitlines() if ln.startswith("  run ")]
    assert len(runs) == 4 and "run 2: --model resnet --workers 2" in runs[2]  # alternating
    rows = [ln.strip("|").split("|") for ln in done.stdout.splitlines() if ln.startswith("| `")]
    assert [r[0].strip() for r in rows] == [
        "`--model lenet --workers 1`",
        "`--model resnet --workers 2`",
    ]
    assert float(rows[0][3]) == 1.0 and float(rows[1][1]) > 0
    assert "AVX-512" in done.stdout  # the CPU heads the table


def test_a_failing_command_is_an_error_naming_it(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--data-dir", str(tmp_path / "none"), "--runs", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "error:" in done.stderr and "--model lenet" in done.stderr
