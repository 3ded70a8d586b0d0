"""One epoch of ``cnn-numpy train`` as the command runs it, for several models side by side:
the seconds of the epoch and each as a multiple of the first row's.

    python benchmarks/epoch_time.py --data-dir DATA/fashion-mnist
    python benchmarks/epoch_time.py --data-dir DATA/fashion-mnist --runs 3
    python benchmarks/epoch_time.py --data-dir DATA/mnist --dataset mnist --rows "--model lenet" "--model resnet"

Each row is the flags that differ (default: LeNet, the resnet in one process, the resnet as
the command runs it by default, on all cores); each run is ``cnn-numpy train --dataset D
--data-dir DIR --epochs 1 --no-report --quiet`` plus the row's flags, in a fresh process with
a temporary ``--out``.  The time is the epoch's own (the ``seconds`` column of the run's
history.csv: the batches and the test pass, not the start-up or the novelty check after it).
The rows run in turn, in alternating order from run to run, so all see the same load on a
shared machine; the table gives the best run of each and the spread.  Headed by the CPU.
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_train import machine

from cnn_numpy.tools.cli.common import int_in

ROWS = ["--model lenet", "--model resnet --workers 1", "--model resnet"]


def epoch_seconds(dataset: str, data_dir: str, flags: list[str]) -> tuple[float, float]:
    """(seconds, test accuracy) of one epoch of the command with ``flags``."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "cnn_numpy", "train", "--dataset", dataset]
        cmd += ["--data-dir", data_dir, "--epochs", "1", "--no-report", "--quiet"]
        cmd += ["--out", str(Path(out) / "run"), *flags]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"error: {shlex.join(cmd)} failed:\n{done.stderr[-2000:]}")
        with open(Path(out) / "run" / "history.csv", newline="") as f:
            row = list(csv.DictReader(f))[-1]
        return float(row["seconds"]), float(row["test_acc"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the dataset's folder (its IDX files)")
    parser.add_argument("--dataset", default="fashion-mnist", help="default: fashion-mnist")
    parser.add_argument("--runs", type=int_in(1), default=2, help="runs of each row (default 2)")
    parser.add_argument("--rows", nargs="+", default=ROWS, metavar="FLAGS", help=f"default: {ROWS}")
    args = parser.parse_args(argv)
    print(machine(quick=True))
    times: dict[str, list[float]] = {row: [] for row in args.rows}
    for r in range(args.runs):
        for row in args.rows if r % 2 == 0 else reversed(args.rows):
            seconds, acc = epoch_seconds(args.dataset, args.data_dir, shlex.split(row))
            times[row].append(seconds)
            print(f"  run {r + 1}: {row}: {seconds:.1f} s (test accuracy {acc:.4f})", flush=True)
    first = min(times[args.rows[0]])
    print(f"\n| {args.dataset}, 1 epoch | best s | spread | × first row |")
    print("|---|---:|---:|---:|")
    for row, values in times.items():
        print(
            f"| `{row}` | {min(values):.1f} | {min(values):.1f}-{max(values):.1f} | "
            f"{min(values) / first:.2f} |"
        )
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
