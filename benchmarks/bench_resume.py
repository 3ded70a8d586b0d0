"""Ctrl-C within an epoch on real data: is the resumed run the unbroken run, bit for bit?

    python benchmarks/bench_resume.py --data-dir ../shared/data              # MNIST, LeNet
    python benchmarks/bench_resume.py --data-dir DIR --dataset fashion-mnist --limit 6000

Runs ``cnn-numpy train`` (the dataset's defaults, --limit images, --epochs) three ways in
subprocesses: unbroken; stopped by a real SIGINT --after seconds into its first epoch; and
that run resumed with ``--resume``.  Prints where the interrupted run stopped, how much of
the epoch the old epoch-boundary checkpoint would have thrown away, the wall-clock seconds,
and whether the final model.npz, best.npz and the optimizer state equal the unbroken run's
exactly (max |difference| over every array).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cnn_numpy.tools.cli.common import int_in
from cnn_numpy.tools.saving.checkpoint import load_checkpoint
from cnn_numpy.tools.saving.model_files import load


def train_command(args, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cnn_numpy", "train", "--dataset", args.dataset,
            "--data-dir", args.data_dir, "--limit", str(args.limit), "--epochs",
            str(args.epochs), "--no-report", "--out", str(out), *extra]  # fmt: skip


def train(command: list[str]) -> subprocess.CompletedProcess:
    """Run a ``cnn-numpy train``; a failure stops the benchmark with the command's own error."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: {' '.join(command[2:])} failed:\n{done.stderr.strip()}")
    return done


def largest_difference(a: Path, b: Path) -> float:
    """Max |a - b| over the weights of model.npz and best.npz and the optimizer's arrays."""
    worst = 0.0
    for name in ("model.npz", "best.npz"):
        sa, sb = load(a / name).state_dict(), load(b / name).state_dict()
        worst = max(worst, *(float(np.abs(sa[k] - sb[k]).max()) for k in sa))
    oa = load_checkpoint(a / "checkpoint.npz").optimizer_state
    ob = load_checkpoint(b / "checkpoint.npz").optimizer_state
    arrays = [k for k in oa if isinstance(oa[k], np.ndarray)]
    return max(worst, *(float(np.abs(oa[k] - ob[k]).max()) for k in arrays))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--limit", type=int_in(1), default=6000)
    parser.add_argument("--epochs", type=int_in(1), default=2)
    parser.add_argument("--after", type=float, default=8.0, help="seconds into epoch 1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        whole, broken = Path(folder) / "whole", Path(folder) / "broken"
        start = time.perf_counter()
        train(train_command(args, whole))
        unbroken_s = time.perf_counter() - start

        start = time.perf_counter()
        with subprocess.Popen(train_command(args, broken), stdout=subprocess.PIPE, text=True) as p:
            for line in p.stdout:
                if line.startswith("Model:"):  # training starts now
                    time.sleep(args.after)
                    p.send_signal(signal.SIGINT)
                    break
            out = p.stdout.read()
            if p.wait() != 130:  # it finished (or failed) before the signal came
                raise SystemExit(
                    f"error: the run was not interrupted (exit {p.returncode}); give a smaller "
                    f"--after than {args.after} s or a larger --limit:\n{out[-1000:]}"
                )
        stopped = re.search(r"holds the run after (batch \d+ of \d+ in epoch \d+|epoch \d+)", out)
        resumed = train(
            [sys.executable, "-m", "cnn_numpy", "train", "--resume", str(broken), "--no-report"]
        )
        broken_s = time.perf_counter() - start
        history = [json.loads((r / "history.json").read_text()) for r in (whole, broken)]
        for h in history:
            h.pop("seconds")
        difference = largest_difference(whole, broken)
    where = stopped.group(1) if stopped else "?"
    batches = re.match(r"batch (\d+) of (\d+)", where)
    kept = f"{int(batches[1]) / int(batches[2]):.0%} of the epoch" if batches else "-"
    print(f"{args.dataset}, {args.limit} images, {args.epochs} epochs, SIGINT after {args.after} s")
    print(f"  stopped: after {where} (kept, where the old checkpoint lost it: {kept})")
    print(f"  unbroken run: {unbroken_s:.1f} s; interrupted + resumed: {broken_s:.1f} s")
    print(f"  history equal: {history[0] == history[1]}; max |difference|: {difference:g}")
    print(f"  resumed output: {resumed.stdout.splitlines()[1]}")


if __name__ == "__main__":
    main()
