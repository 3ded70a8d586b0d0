"""The doctor's benchmark scripts run (smoke runs: tiny sizes, no timing asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def run(script: str, *flags: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CNN_NUMPY_DATA"}  # random data
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", *flags],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_diagnose_prints_every_check():
    out = run("bench_diagnose.py", "--images", "48")  # --quick keeps the sizes given
    assert "on 48 random images of MNIST's shape" in out
    for check in ("all 9 checks, run 1", "gradients alone", "lr alone"):
        assert f"| {check} |" in out
    assert "best of 1:" in out


def test_bench_monitor_prints_the_overhead():
    out = run("bench_monitor.py", "--images", "96", "--rounds", "2")
    assert "one epoch of 96 random images" in out and "| 2 |" in out
    assert "| 1 |" in out and "median overhead: wall clock" in out and "direct" in out


def test_dead_relus_prints_the_healthy_net_and_the_bugs():
    done = subprocess.run(
        [sys.executable, str(BENCH / "dead_relus.py"), "--models", "seed", "--seeds", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = {line[:31].strip(): line[31:].split() for line in done.stdout.splitlines()[1:]}
    assert rows["seed lines s0          init"][2] == "ok"  # 0 or 1 of its 8 filters dead
    assert rows["seed lines bias -20    init"][1:4] == ["100%", "fail", "1:8/8"]
    assert rows["seed lines lr x10      5 ep"][0] == "1.000"
