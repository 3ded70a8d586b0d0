"""benchmarks/accuracy.py runs (on tiny generated files) so it cannot rot."""

import importlib.util
from pathlib import Path

import numpy as np
from helpers.idx_fixtures import fake_files, write_files

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "accuracy.py"


def load_script():
    spec = importlib.util.spec_from_file_location("accuracy_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_accuracy_benchmark_prints_a_table(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path / "shared" / "mnist", fake_files(np.random.default_rng(0), 16, 6))
    code = load_script().main(
        [
            "--model",
            "seed",
            "--dataset",
            "mnist",
            "--data-dir",
            str(tmp_path / "shared"),
            "--epochs",
            "2",
            "--batch-size",
            "8",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1  # random labels: the 97.5% target is missed, and the exit status says so
    assert "| epoch | loss | train acc | test acc | seconds | train images/s |" in out
    assert "| 2 |" in out and "target >= 97.5%: MISSED" in out
