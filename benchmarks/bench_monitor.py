"""What watching costs: ``fit(..., monitor=Monitor())`` against plain ``fit`` (the issue's
target: 5% of training time or less), LeNet-style net, batch 32, Adam.

    python benchmarks/bench_monitor.py --data-dir ../shared/data        # real MNIST
    python benchmarks/bench_monitor.py                                 # random data, MNIST's shape
    python benchmarks/bench_monitor.py --quick                         # a smoke run (seconds)

Two measures.  Wall clock: plain and monitored training of the same images, interleaved
round after round (the median of the per-round ratios, so that load from other programs
cancels out).  Direct: the time spent inside the monitor (its three hooks and the
statistics it takes during a watched forward pass) over the monitored run's time without
it, which other programs' load disturbs far less.  Also the time to save ``monitor.json``
after the run, as ``cnn-numpy train --monitor`` does after every epoch.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from bench_diagnose import load_images  # the same images as bench_diagnose

from cnn_numpy import Adam, CrossEntropyLoss, Monitor, fit, lenet, seed_net
from cnn_numpy.tools.cli.common import int_in
from cnn_numpy.tools.doctor import monitor as monitor_module


class TimedMonitor(Monitor):
    """A Monitor that adds up the seconds spent in it."""

    seconds = 0.0

    def before_step(self, model):
        start = time.perf_counter()
        super().before_step(model)
        self.seconds += time.perf_counter() - start

    def after_step(self, model, epoch, loss):
        start = time.perf_counter()
        super().after_step(model, epoch, loss)
        self.seconds += time.perf_counter() - start

    def end_epoch(self, model, epoch):
        start = time.perf_counter()
        super().end_epoch(model, epoch)
        self.seconds += time.perf_counter() - start


def timed_stats(watched: list[TimedMonitor]):
    """``activation_stats``, charging its time to the monitor being trained."""
    plain = monitor_module.activation_stats

    def stats(*args, **kwargs):
        start = time.perf_counter()
        result = plain(*args, **kwargs)
        watched[-1].seconds += time.perf_counter() - start
        return result

    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("CNN_NUMPY_DATA") or None)
    parser.add_argument("--images", type=int_in(1), help="MNIST images (12,800; --quick: 640)")
    parser.add_argument("--rounds", type=int_in(1), help="plain and watched runs (3; --quick: 1)")
    parser.add_argument("--every", type=int_in(1), default=50)
    parser.add_argument("--quick", action="store_true", help="seed net, 640 images, 1 round")
    args = parser.parse_args()
    quick = args.quick  # its sizes, where --images and --rounds are not given
    args.images = args.images or (640 if quick else 12_800)
    args.rounds = args.rounds or (1 if quick else 3)
    X, y, source = load_images(args.data_dir, args.images)
    make = (lambda: seed_net(10, rng=0)) if args.quick else (lambda: lenet(rng=0))
    watched: list[TimedMonitor] = []
    monitor_module.activation_stats = timed_stats(watched)

    def train(monitor=None) -> float:
        model = make()
        start = time.perf_counter()
        fit(
            model,
            CrossEntropyLoss(),
            Adam(model.parameters(), lr=3e-3),
            (X, y),
            epochs=1,
            batch_size=32,
            rng=0,
            callbacks=[] if monitor is None else [monitor],
        )
        return time.perf_counter() - start

    print(
        f"monitor: {'seed net' if args.quick else 'LeNet'}, one epoch of {len(X):,} {source}, "
        f"batch 32, Monitor(every={args.every}); {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(
        "| round | plain fit, s | monitored fit, s | wall-clock overhead | inside the monitor, s "
        "| direct overhead |\n| ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    wall, direct = [], []
    for k in range(1, args.rounds + 1):
        plain = train()
        watched.append(TimedMonitor(every=args.every))
        monitored = train(watched[-1])
        inside = watched[-1].seconds
        wall.append(monitored / plain - 1)
        direct.append(inside / (monitored - inside))
        print(
            f"| {k} | {plain:.2f} | {monitored:.2f} | {wall[-1]:+.1%} | {inside:.3f} | "
            f"{direct[-1]:.2%} |"
        )
    monitor = watched[-1]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        path = monitor.save(folder)
        saving = time.perf_counter() - start
        size = path.stat().st_size
    print(
        f"median overhead: wall clock {np.median(wall):+.1%}, direct {np.median(direct):.2%} "
        f"(target: 5% or less); {len(monitor.records)} steps watched of {monitor.steps}; "
        f"saving monitor.json: {saving * 1000:.0f} ms, {size / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
