"""benchmarks/bench_serve.py and bench_serve_colour.py run from one request up, and their
table reads right: a 90th percentile between the median and the slowest request (it once
extrapolated past the max for a few requests, and one request was a StatisticsError)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=120
    )


def timing_rows(out: str) -> dict[str, list[float]]:
    """The table under ``median p90 max``: name -> the three numbers."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:3] == ["median", "p90", "max"])
    rows = {}
    for line in lines[start + 1 :]:
        name, numbers = line[:14].strip(), line[14:].split()  # the name column is 14 wide
        if len(numbers) != 3:
            break
        rows[name] = [float(n) for n in numbers]
    return rows


@pytest.mark.parametrize(
    "script, repeat", [("bench_serve.py", "3"), ("bench_serve_colour.py", "1")]
)
def test_the_percentile_lies_between_the_median_and_the_max(script, repeat):
    done = run(script, "--repeat", repeat)
    assert done.returncode == 0, done.stderr
    rows = timing_rows(done.stdout)
    assert "server total" in rows and "over HTTP" in rows, done.stdout
    for name, (median, p90, top) in rows.items():
        assert 0 < median <= p90 <= top, (name, median, p90, top)


@pytest.mark.parametrize("script", ["bench_serve.py", "bench_serve_colour.py"])
def test_a_wrong_model_path_or_repeat_is_one_line(script, tmp_path):
    done = run(script, "--model", str(tmp_path / "missing.npz"))
    assert done.returncode == 2 and "no such model file" in done.stderr
    assert "Traceback" not in done.stderr
    done = run(script, "--repeat", "0")
    assert done.returncode == 2 and "at least 1" in done.stderr
