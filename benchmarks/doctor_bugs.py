"""Plant the bugs students make, one at a time, and see what ``diagnose`` says first.

Each case builds a setup on real MNIST / Fashion-MNIST (the first --limit training images)
or the synthetic lines, with one bug planted, runs ``diagnose`` on it, and prints the first
problem the doctor names (its check, status and advice); then, with --train, the setup as
planted and with the doctor's advice followed (diagnosed again), each trained for one epoch
against the test set.

    python benchmarks/doctor_bugs.py --data-dir ../shared/data [--limit 3000] [--train]
        [--only lr_10x,nan]
"""

from __future__ import annotations

import argparse
import copy
import re
import time

import numpy as np

from cnn_numpy import (
    SGD,
    Adam,
    CrossEntropyLoss,
    Dropout,
    Layer,
    diagnose,
    evaluate,
    fit,
    lenet,
    load_fashion_mnist,
    load_mnist,
    seed_net,
    synthetic_lines,
)
from cnn_numpy.data import normalization_stats, normalize


class Softmax(Layer):
    """A student's softmax at the end of the net: CrossEntropyLoss then applies it again."""

    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out

    def backward(self, grad_out):
        s = self.out
        return s * (grad_out - np.sum(grad_out * s, axis=1, keepdims=True))


def load(name, root, limit):
    loader = load_mnist if name == "mnist" else load_fashion_mnist
    (Xtr, ytr), (Xte, yte) = loader(f"{root}/{name}", download=False)
    raw_tr, raw_te = Xtr[:limit], Xte[:2000]
    stats = normalization_stats(raw_tr)
    return raw_tr, ytr[:limit], normalize(raw_tr, **stats), normalize(raw_te, **stats), yte[:2000]


#: the right labels of the cases whose labels were spoiled
CLEAN: dict[str, np.ndarray] = {}


def cases(root, limit):
    """name -> (model, optimizer, X, y, batch_size, test) with one bug planted."""
    raw, y, X, Xte, yte = load("mnist", root, limit)
    test = (Xte, yte)
    rng = np.random.default_rng(0)

    def net(seed=1):
        return lenet(rng=seed)

    def adam(m, lr=3e-3, **kw):
        return Adam(m.parameters(), lr=lr, **kw)

    out = {}
    m = net()
    out["healthy"] = (m, adam(m), X, y, 64, test)
    m = net()
    out["lr_10x"] = (m, adam(m, 3e-2), X, y, 64, test)
    m = net()
    out["lr_100x"] = (m, adam(m, 3e-1), X, y, 64, test)
    m = net()
    out["lr_1000x_low"] = (m, adam(m, 3e-6), X, y, 64, test)
    m = net()
    out["sgd_no_momentum"] = (m, SGD(m.parameters(), lr=3e-3), X, y, 64, test)
    m = net()
    out["raw_pixels"] = (
        m,
        adam(m),
        (raw * 255).astype(np.float32),
        y,
        64,
        ((Xte * 0.3081 + 0.1307) * 255, yte),
    )
    twice = normalize(X, 0.1307, 0.3081)
    m = net()
    out["normalised_twice"] = (m, adam(m), twice, y, 64, test)
    m = net()
    out["divided_255_twice"] = (m, adam(m), raw / 255, y, 64, test)
    m = net()
    out["labels_shuffled"] = (m, adam(m), X, rng.permutation(y), 64, test)
    m = net()
    out["labels_plus_one"] = (m, adam(m), X, y + 1, 64, test)
    m = net()
    out["labels_misaligned"] = (m, adam(m), X, np.roll(y, 1), 64, test)
    keep = y != 3
    m = net()
    out["class_missing"] = (m, adam(m), X[keep], y[keep], 64, test)
    from cnn_numpy import deep

    m = deep(rng=1)
    out["batch1_batchnorm"] = (m, adam(m, 1e-3), X, y, 1, test)
    m = net()
    m[0].bias.data[...] = -20
    out["dead_relu_bias"] = (m, adam(m), X, y, 64, test)
    m = net()
    for p in m.parameters():
        p.data[...] = 0
    out["weights_zero"] = (m, adam(m), X, y, 64, test)
    m = net()
    m.layers.append(Softmax())
    out["softmax_twice"] = (m, adam(m), X, y, 64, test)
    m = net()
    out["weight_decay_huge"] = (m, adam(m, weight_decay=10.0), X, y, 64, test)
    m = net()
    m.layers.insert(-1, Dropout(0.9, rng=0))
    out["dropout_0.9"] = (m, adam(m), X, y, 64, test)
    fraw, fy, FX, FXte, fyte = load("fashion-mnist", root, limit)
    m = seed_net(10, rng=1)
    out["too_small_fashion"] = (m, adam(m), FX, fy, 64, (FXte, fyte))
    m = net()
    out["too_big_500"] = (m, adam(m), X[:500], y[:500], 64, test)
    m = net()
    out["lengths_differ"] = (m, adam(m), X, y[:-5], 64, test)
    nan = X.copy()
    nan[17, 0, 5, 5] = np.nan
    m = net()
    out["nan_in_data"] = (m, adam(m), nan, y, 64, test)
    m = net()
    out["wrong_image_size"] = (m, adam(m), np.pad(X, ((0, 0), (0, 0), (2, 2), (2, 2))), y, 64, test)
    # the lines: the seed net, per-sample SGD at 0.01 (the CLI's defaults)
    Xl, yl = synthetic_lines(400, rng=0)
    ltest = synthetic_lines(200, rng=9)
    for name, lr in (("lines_healthy", 0.01), ("lines_lr_100x", 1.0), ("lines_lr_1000x_low", 1e-5)):
        m = seed_net(2, rng=1)
        out[name] = (m, SGD(m.parameters(), lr=lr), Xl, yl, 1, ltest)
    m = seed_net(2, rng=1)
    out["lines_labels_shuffled"] = (
        m,
        SGD(m.parameters(), lr=0.01),
        Xl,
        rng.permutation(yl),
        1,
        ltest,
    )
    CLEAN.update(labels_shuffled=y, labels_misaligned=y, lines_labels_shuffled=yl)
    return out


def advised_lr(found) -> float:
    """The rate the first problem that advises one names ("Try: lr=0.0031")."""
    for f in found.problems:
        hit = re.search(r"lr=([0-9.e+-]*[0-9])", f.message)
        if hit:
            return float(hit.group(1))
    raise ValueError("no learning rate advised")


def cure(name, found, model, opt, X, y, bs, test, clean_y):
    """The setup with the doctor's advice followed (None: no advice to follow)."""
    if name.startswith(("lr_", "lines_lr_")) or name == "sgd_no_momentum":
        return model, type(opt)(opt.params, lr=advised_lr(found)), X, y, bs, test
    if name in ("raw_pixels", "divided_255_twice", "normalised_twice"):
        # X / 255 for raw pixels, then standardise with the training images' own numbers
        # (the test images were prepared the same way as the training images)
        base, tX = (X / 255, test[0] / 255) if name == "raw_pixels" else (X, test[0])
        if name == "divided_255_twice":
            tX = (tX * 0.30849 + 0.13096) / 255
        if name == "normalised_twice":
            tX = normalize(tX, 0.1307, 0.3081)
        stats = normalization_stats(base)
        return model, opt, normalize(base, **stats), y, bs, (normalize(tX, **stats), test[1])
    if name in CLEAN:
        return model, opt, X, clean_y, bs, test
    if name == "nan_in_data":  # drop the images that hold NaN, as the advice says
        keep = np.isfinite(X).reshape(len(X), -1).all(axis=1)
        return model, opt, X[keep], y[keep], bs, test
    if name == "dead_relu_bias":
        model[0].bias.data[...] = 0
        return model, opt, X, y, bs, test
    if name == "weights_zero":
        fresh = lenet(rng=1)
        return fresh, type(opt)(fresh.parameters(), lr=opt.lr), X, y, bs, test
    if name == "softmax_twice":
        model.layers.pop()
        return model, opt, X, y, bs, test
    if name == "weight_decay_huge":
        return model, type(opt)(opt.params, lr=opt.lr, weight_decay=0.0), X, y, bs, test
    if name == "dropout_0.9":
        for layer in model.layers:
            if isinstance(layer, Dropout):
                layer.p = 0.5
        return model, opt, X, y, bs, test
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--limit", type=int, default=3000)
    p.add_argument("--only", default="")
    p.add_argument(
        "--train",
        action="store_true",
        help="also train 1 epoch as planted and with the first advice followed (diagnosed "
        "again), and print the test accuracies",
    )
    args = p.parse_args()
    only = [s for s in args.only.split(",") if s]
    for name, (model, opt, X, y, bs, test) in cases(args.data_dir, args.limit).items():
        if only and name not in only:
            continue
        print(f"=== {name}", flush=True)
        t = time.perf_counter()
        try:
            found = diagnose(model, CrossEntropyLoss(), (X, y), opt, batch_size=bs)
        except Exception as err:  # noqa: BLE001
            print(f"  raised {type(err).__name__}: {err}")
            continue
        print(f"  {found.summary()} [{time.perf_counter() - t:.0f} s]")
        for f in found.problems:
            print(f"  {f.check} {f.status.upper()}: {f.message}")
        if not args.train:
            continue
        pristine = copy.deepcopy(model)
        try:
            fit(
                model, CrossEntropyLoss(), opt, (X, y), epochs=1, batch_size=bs, rng=0, callbacks=[]
            )
            print(f"  as planted, 1 epoch: test accuracy {evaluate(model, *test):.3f}", flush=True)
        except ValueError as err:
            print(f"  as planted, fit raised ValueError: {err}")
        fresh_opt = type(opt)(
            pristine.parameters(), lr=opt.lr, weight_decay=getattr(opt, "weight_decay", 0.0)
        )
        fixed = cure(name, found, pristine, fresh_opt, X, y, bs, test, CLEAN.get(name, y))
        if fixed is None:
            continue
        m2, o2, X2, y2, bs2, test2 = fixed
        again = diagnose(m2, CrossEntropyLoss(), (X2, y2), o2, batch_size=bs2)
        problems = [(f.check, f.status) for f in again.problems]
        print(f"  advice followed: {again.summary()} {problems}")
        fit(m2, CrossEntropyLoss(), o2, (X2, y2), epochs=1, batch_size=bs2, rng=0, callbacks=[])
        print(f"  advice followed, 1 epoch: test accuracy {evaluate(m2, *test2):.3f}", flush=True)


if __name__ == "__main__":
    main()
