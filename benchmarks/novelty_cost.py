"""What learning the novelty score's weights (outlier exposure) adds to ``train``'s fit of the
novelty check: time and peak memory of the plain fit and of the learned part alone.

    python benchmarks/novelty_cost.py runs/mnist-lenet-.../best.npz --data-dir DIR [--repeat 3]

Fits on the MNIST training images, normalised as the model file's card says, as ``train``
does at its end (``cli/novelty_check.store_novelty``).  Memory is the peak of NumPy's
allocations seen by ``tracemalloc`` (arrays only; the interpreter and the images are not
counted).  Prints the best of ``--repeat`` runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

import numpy as np

from cnn_numpy.tools.cli.common import int_in


def measure(run, *args, **kwargs) -> tuple[float, float, object]:
    """(seconds, peak MB of new allocations, result) of ``run(*args, **kwargs)``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = run(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a model file trained on MNIST")
    p.add_argument("--data-dir", default=None, help="folder with MNIST's files (or its parent)")
    p.add_argument("--repeat", type=int_in(1), default=3)
    args = p.parse_args(argv)

    import cnn_numpy as cnn
    from cnn_numpy.data import normalize
    from cnn_numpy.tools.novelty.detector import fit_novelty
    from cnn_numpy.tools.novelty.exposure import learn_combination
    from cnn_numpy.tools.novelty.features import stage_features

    try:  # a wrong path or a foreign file: the library's message, in one line
        model = cnn.load(args.model)
        stats = cnn.load_card(args.model).get("normalize") or {"mean": 0.0, "std": 1.0}
        (X, y), _ = cnn.load_mnist(args.data_dir, download=False)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    X = normalize(X, stats["mean"], stats["std"])
    X = X[:, None] if X.ndim == 3 else X
    plain, learned = [], []
    for i in range(args.repeat):
        seconds, peak, detector = measure(
            fit_novelty, model, X, y, rng=np.random.default_rng([i, 5]), learn=False
        )
        plain.append((seconds, peak))
        # the learned part alone, on the same held-out images as fit_novelty takes
        held = np.random.default_rng([i, 5]).permutation(len(X))[: detector.holdout_images]
        features, logits = stage_features(model, X[held], detector.stages)
        args_ = (detector, model, X[held], y[held], features, logits, np.random.default_rng(i))
        seconds, peak, _ = measure(learn_combination, *args_)
        learned.append((seconds, peak))
    print(f"model {args.model}: {len(X):,} training images, {detector.holdout_images:,} held out")
    print(f"| part | seconds (best of {args.repeat}) | peak MB of arrays |")
    print("| --- | ---: | ---: |")
    for name, rows in (("fit_novelty, learn=False", plain), ("+ learn_combination", learned)):
        seconds, peak = min(r[0] for r in rows), min(r[1] for r in rows)
        print(f"| {name} | {seconds:.2f} | {peak:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
