"""Does *training* differently make the novelty check refuse more non-digits?

    python benchmarks/novelty_training.py --data-dir ../shared/data/mnist --out /tmp/nt \
        --seeds 0 1 2 --variants plain outliers:0.5 shift:1
    python benchmarks/photo_novelty.py /tmp/nt/*.npz --data-dir ../shared/data --seed 1 \
        --per-condition 50 --non-digits 60 --matched 0.017

Each variant trains the default MNIST LeNet as ``cnn-numpy train --dataset mnist`` does (Adam
3e-3, cosine over 3 epochs, batch 128), in one process, and then fits the novelty check as
``train`` does (30,000 training images, seed 0).  A model file ``VARIANT-seedS.npz`` per run;
``photo_novelty.py --matched`` then compares the checks at the same share of raw MNIST test
digits refused, so that a check is not better only because its threshold moved.

    plain          the default training
    outliers:W     outlier exposure (Hendrycks et al., ICLR 2019): each batch of 128 digits
                   also carries 32 outliers made from them (tools/novelty/outliers.py, the
                   kinds the check's weights are fitted on), whose loss is W times the cross
                   entropy to the uniform distribution: "be unsure on these"
    shift:P        every training batch moved by up to P pixels (transforms.RandomShift)

The loop is the README's (zero_grad, forward, loss, backward, step); an outlier's gradient of
mean(-log softmax) over the classes is (softmax - 1/K), divided by the outliers in the batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import cnn_numpy as cnn
from cnn_numpy.data import normalize
from cnn_numpy.layers.speed import input_grad
from cnn_numpy.tools.cli.common import int_in
from cnn_numpy.tools.novelty import fit_novelty, save_novelty
from cnn_numpy.tools.novelty.outliers import make_outliers
from cnn_numpy.transforms import RandomShift

#: outliers carried by each batch of BATCH digits ("outliers:W")
OUTLIERS_PER_BATCH = 32
BATCH, EPOCHS, LR = 128, 3, 0.003


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="the folder holding MNIST's IDX files")
    p.add_argument("--out", required=True, help="folder for the model files")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--variants", nargs="+", default=["plain", "outliers:0.5", "shift:1"])
    p.add_argument("--epochs", type=int_in(1), default=EPOCHS)
    p.add_argument("--limit", type=int_in(1), default=None, help="train on the first N images only")
    args = p.parse_args(argv)
    for v in args.variants:
        variant(v)  # an unknown variant is a usage error before anything trains
    return args


def variant(text: str) -> tuple[str, float]:
    """'plain', 'outliers:W' or 'shift:P' -> (kind, number)."""
    kind, _, number = text.partition(":")
    if kind == "plain" and not number:
        return kind, 0.0
    if kind in ("outliers", "shift") and number:
        try:
            return kind, float(number)
        except ValueError:
            pass
    raise SystemExit(f"error: unknown variant {text!r}: use plain, outliers:W or shift:P")


def uniform_target_grad(logits: np.ndarray, weight: float) -> np.ndarray:
    """d/dlogits of weight * mean over rows of (-mean over classes of log softmax).

    Shape: (M, K) -> (M, K)"""
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return (weight * (p - 1.0 / z.shape[1]) / len(z)).astype(logits.dtype)


def train(kind: str, number: float, X, y, test, seed: int, epochs: int):
    """A LeNet trained as the default MNIST run, with the variant's change."""
    rng = np.random.default_rng(seed)
    model = cnn.lenet(rng=rng)
    optimizer = cnn.Adam(model.parameters(), lr=LR)
    scheduler = cnn.CosineAnnealingLR(optimizer, T_max=epochs)
    loss = cnn.CrossEntropyLoss()
    shift = RandomShift(int(number)) if kind == "shift" else None
    for _ in range(epochs):
        model.train()
        for xb, yb in cnn.iterate_minibatches(X, y, BATCH, shuffle=True, rng=rng):
            if shift is not None:
                xb = shift(xb, rng)
            extra = make_outliers(xb, yb, OUTLIERS_PER_BATCH, rng) if kind == "outliers" else None
            inputs = xb if extra is None else np.concatenate([xb, extra.astype(xb.dtype)])
            optimizer.zero_grad()
            logits = model.forward(inputs)
            loss.forward(logits[: len(xb)], yb)
            grad = np.zeros_like(logits)
            grad[: len(xb)] = loss.backward()
            if extra is not None:
                grad[len(xb) :] = uniform_target_grad(logits[len(xb) :], number)
            with input_grad(model, False):
                model.backward(grad)
            optimizer.step()
        scheduler.step()
    model.eval()
    predicted = np.concatenate(
        [model.forward(test[0][i : i + 1000]).argmax(axis=1) for i in range(0, len(test[0]), 1000)]
    )
    return model, float(np.mean(predicted == test[1]))


def main(argv=None) -> int:
    args = parse_args(argv)
    (X, y), (Xt, yt) = cnn.load_mnist(root=args.data_dir, download=False)
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]
    mean, std = float(X.mean()), float(X.std())
    X, Xt = normalize(X, mean, std), normalize(Xt, mean, std)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("| variant | seed | test accuracy | seconds | file |")
    print("| --- | ---: | ---: | ---: | --- |")
    for text in args.variants:
        kind, number = variant(text)
        for seed in args.seeds:
            start = time.perf_counter()
            model, accuracy = train(kind, number, X, y, (Xt, yt), seed, args.epochs)
            seconds = time.perf_counter() - start
            path = out / f"{text.replace(':', '')}-seed{seed}.npz"
            cnn.save(
                model,
                path,
                dataset="mnist",
                class_names=[str(d) for d in range(10)],
                input_shape=[1, 28, 28],
                normalize={"mean": mean, "std": std},
            )
            save_novelty(path, fit_novelty(model, X, y, rng=np.random.default_rng([0, 5])))
            print(f"| {text} | {seed} | {accuracy:.2%} | {seconds:.0f} | {path} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
