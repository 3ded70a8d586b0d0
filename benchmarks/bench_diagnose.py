"""How long ``diagnose`` takes: the LeNet-style net on 1,024 MNIST images (the issue's
target: 30 s or less on the project's 2-core machine).

    python benchmarks/bench_diagnose.py --data-dir ../shared/data        # real MNIST
    python benchmarks/bench_diagnose.py                                 # random data, MNIST's shape
    python benchmarks/bench_diagnose.py --quick                         # a smoke run (seconds)

Runs the whole diagnosis ``--repeat`` times (Adam 3e-3, batch 32: ``cnn-numpy train --dataset
mnist``'s defaults) and prints each run's total, then each check alone (each also pays for
the forward pass every diagnosis makes).  ``diagnose`` runs on one BLAS thread whatever
the setting outside (``--threads N`` then only matters for loading the data).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from cnn_numpy import Adam, CrossEntropyLoss, diagnose, lenet, seed_net
from cnn_numpy.tools.cli.common import int_in
from cnn_numpy.tools.doctor import CHECKS


def load_images(data_dir: str | None, n: int):
    """The first ``n`` MNIST training images, standardised, or random ones of that shape."""
    if data_dir is not None:
        from cnn_numpy.data import load_mnist, normalization_stats, normalize

        try:
            (X, y), _ = load_mnist(data_dir, download=False)
        except (OSError, ValueError) as err:  # the library's message, not a traceback
            raise SystemExit(f"error: {err}") from None
        X, y = X[:n], y[:n]
        return normalize(X, **normalization_stats(X)), y, f"MNIST ({data_dir})"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    return X, rng.integers(0, 10, n), "random images of MNIST's shape"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("CNN_NUMPY_DATA") or None)
    parser.add_argument("--images", type=int_in(1), help="MNIST images (1024; --quick: 128)")
    parser.add_argument("--repeat", type=int_in(1), help="runs of all the checks (2; --quick: 1)")
    parser.add_argument("--threads", type=int_in(1), default=None, help="BLAS threads")
    parser.add_argument("--quick", action="store_true", help="seed net, 128 images, once")
    args = parser.parse_args()
    quick = args.quick  # its sizes, where --images and --repeat are not given
    args.images = args.images or (128 if quick else 1024)
    args.repeat = args.repeat or (1 if quick else 2)
    X, y, source = load_images(args.data_dir, args.images)
    make = (lambda: seed_net(10, rng=0)) if args.quick else (lambda: lenet(rng=0))

    def once(checks=None) -> float:
        model = make()
        start = time.perf_counter()
        diagnose(
            model,
            CrossEntropyLoss(),
            (X, y),
            Adam(model.parameters(), lr=3e-3),
            batch_size=32,
            checks=checks,
        )
        return time.perf_counter() - start

    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        print(
            f"diagnose: {'seed net' if args.quick else 'LeNet'} on {len(X):,} {source}; "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, BLAS threads: "
            f"{args.threads or 'default'}, Python {platform.python_version()}, "
            f"NumPy {np.__version__}"
        )
        totals = [once() for _ in range(args.repeat)]
        print("| what | seconds |\n| --- | ---: |")
        for k, seconds in enumerate(totals, 1):
            print(f"| all 9 checks, run {k} | {seconds:.1f} |")
        for check in CHECKS:
            print(f"| {check} alone | {once([check]):.1f} |")
    print(f"best of {len(totals)}: {min(totals):.1f} s (target: 30 s or less)")


if __name__ == "__main__":
    main()
