"""Accuracy on real data: train a preset on MNIST or Fashion-MNIST, print test accuracy and time.

    python benchmarks/accuracy.py --model lenet --dataset mnist --data-dir ../shared/data
    python benchmarks/accuracy.py --model seed --dataset mnist --data-dir ../shared/data
    python benchmarks/accuracy.py --model lenet --dataset fashion-mnist --data-dir ../shared/data

It runs exactly what ``cnn-numpy train`` runs (same defaults, same loop): flags it does not
know are passed on to ``cnn-numpy train`` (``--lr 0.01``, ``--optimizer sgd``, ...).
The table comes from the run's history.json; the exit status is 1 if a known target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from cnn_numpy.presets import MODELS
from cnn_numpy.tools.cli import main as cli_main
from cnn_numpy.tools.saving.run_folder import load_history

#: test accuracy the README promises, per (model, dataset)
TARGETS = {
    ("lenet", "mnist"): 0.990,
    ("seed", "mnist"): 0.975,
    ("lenet", "fashion-mnist"): 0.905,
    ("deep", "mnist"): 0.993,
    ("deep", "fashion-mnist"): 0.925,
    ("resnet", "mnist"): 0.995,
    ("resnet", "fashion-mnist"): 0.935,
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=sorted(MODELS), default="lenet")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="the dataset folder or its parent (default: $CNN_NUMPY_DATA, else data/<dataset>/)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="keep the run folder here (default: a temporary folder)",
    )
    return p.parse_known_args(argv)


def main(argv=None) -> int:
    args, train_flags = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cnn-numpy-accuracy-") as tmp:
        run_dir = args.out or f"{tmp}/run"
        flags = ["train", "--dataset", args.dataset, "--model", args.model, "--out", run_dir]
        if args.data_dir is not None:
            flags += ["--data-dir", args.data_dir]
        code = cli_main(flags + train_flags)
        if code != 0:
            return code
        history = load_history(run_dir)
        limit = json.loads(Path(run_dir, "config.json").read_text()).get("limit")

    print(f"\n{args.model} on {args.dataset}")
    print("| epoch | loss | train acc | test acc | seconds | train images/s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    n_train = min(limit or 60_000, 60_000)  # seconds include the test-set evaluation
    for i in range(len(history)):
        print(
            f"| {history.epoch[i]} | {history.loss[i]:.4f} | {history.train_acc[i]:.2%} | "
            f"{history.test_acc[i]:.2%} | {history.seconds[i]:.1f} | "
            f"{n_train / history.seconds[i]:,.0f} |"
        )
    final = history.test_acc[-1]
    target = TARGETS.get((args.model, args.dataset))
    verdict = (
        ""
        if target is None
        else (f" (target >= {target:.1%}: {'reached' if final >= target else 'MISSED'})")
    )
    print(
        f"\nTest accuracy {final:.2%} after {len(history)} epochs, "
        f"{sum(history.seconds):.0f} s in all{verdict}"
    )
    return 0 if target is None or final >= target else 1


if __name__ == "__main__":
    sys.exit(main())
