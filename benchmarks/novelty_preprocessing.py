"""Does moving each image a small step against its novelty score's gradient before scoring it
(input pre-processing) separate the digits from the non-digits further?

    python benchmarks/novelty_preprocessing.py /tmp/nt/plain-seed{0,1,2}.npz --data-dir DATA \
        --seed 1 --per-condition 50 --non-digits 60 --cache /tmp/nv/cache1 \
        --epsilons 0 0.0005 0.001 0.002 0.005 0.01 0.02 0.05 0.1 0.2 0.4
    python benchmarks/novelty_preprocessing.py ... --per-stage --epsilons 0 0.002 0.005 0.01 0.02 0.05 0.1

Lee et al., "A Simple Unified Framework for Detecting Out-of-Distribution Samples and
Adversarial Attacks" (NeurIPS 2018), section 2; the same idea as ODIN (Liang, Li and Srikant,
ICLR 2018):

    x' = x - eps * sign(d score(x) / dx)      eps in the model's standardised input units
    then score(x') instead of score(x)

The network's features change smoothly around the images it was trained on, so a digit's score
drops further under the step than an outlier's.  The gradient of the check's score (stages'
pooled activations and the logits, their Mahalanobis distances, the learned combination) is
one backward pass through the model's own layers, the score's gradient added at every stage it
reads (``score_and_gradient``).  For each model file the check is fitted as ``train`` fits it
(``fit_novelty``, seeded ``[--check-seed, 5]``), its held-out training images are moved and
scored the same way, and the threshold set again at 1.5% of them.  The photo sets are
photo_novelty.py's (the same arguments, the same ``--cache``); the answer stays the model's
on the image as it is.  Each row is novelty_ensemble.py's: the non-digits refused, all and per
kind; raw MNIST test digits refused; the worst photo condition's right-and-accepted share; the
non-digits refused at the threshold that refuses ``--matched`` of raw MNIST; the held-out
images refused.  ``--per-stage`` adds Lee et al.'s own form: each stage's distance read from
the image moved against that distance alone (one more backward pass per stage), with the check's
learned weights as they are, and with the weights learned again on those moved clues.

Measured on the fit seed (1) with the three default models: no step size refuses more than the
check as it is (docs/novelty.md, "tried on 2026-12-07").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import photo_novelty  # noqa: E402
from novelty_ensemble import (  # noqa: E402
    held_out,
    learned_part,
    parse_with_set_arguments,
    print_header,
    print_row,
    row,
)
from photo_subjects import NON_DIGITS  # noqa: E402, F401 (the kinds: tests read them here)

import cnn_numpy as cnn  # noqa: E402
from cnn_numpy.data import normalize  # noqa: E402
from cnn_numpy.layers.speed import input_grad  # noqa: E402
from cnn_numpy.tools.input_gradients.backprop import explaining  # noqa: E402
from cnn_numpy.tools.novelty import fit_novelty  # noqa: E402
from cnn_numpy.tools.novelty.combine import clue_names, clues, fit_combination  # noqa: E402
from cnn_numpy.tools.novelty.features import pool, stage_features  # noqa: E402

REFUSE_RATE = 0.015
BATCH = 100


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="MNIST model files (their cards' normalisation)")
    p.add_argument("--data-dir", required=True, help="folder holding mnist/ (and fashion-mnist/)")
    p.add_argument(
        "--epsilons",
        type=float,
        nargs="+",
        default=[0.0, 0.0005, 0.001, 0.002, 0.005, 0.01],
        help="step sizes in standardised input units (0: the check as it is)",
    )
    p.add_argument(
        "--per-stage",
        action="store_true",
        help="also move each image against each stage's distance on its own (Lee et al.)",
    )
    args = parse_with_set_arguments(p, argv)
    bad = [e for e in args.epsilons if not (np.isfinite(e) and 0 <= e <= 1)]
    if bad:
        p.error(f"--epsilons must be numbers from 0 to 1 (standardised units), got {bad}")
    return args


def pool_backward(activations: np.ndarray, pooling: str, grad: np.ndarray) -> np.ndarray:
    """d(loss)/d(activations) from d(loss)/d(pool(activations, pooling)) (features.py).

    Shape: (N, C, H, W), (N, D) -> (N, C, H, W)
    """
    n = len(activations)
    if pooling == "channels" and activations.ndim == 4:
        c = activations.shape[1]
        maps = activations.reshape(n, c, -1)  # (N, C, H*W)
        hw = maps.shape[2]
        std = maps.std(axis=2, keepdims=True)
        centred = maps - maps.mean(axis=2, keepdims=True)
        # d mean / d a = 1 / HW;  d std / d a = (a - mean) / (HW std)  (0 where std is 0)
        d = grad[:, :c, None] / hw + grad[:, c:, None] * centred / (
            hw * np.where(std > 0, std, np.inf)
        )
        return d.reshape(activations.shape)
    if pooling == "grid" and activations.ndim == 4:
        _, c, h, w = activations.shape
        g = grad.reshape(n, c, 4)  # (N, C, quarter): pool stacks the quarters last
        d = np.empty(activations.shape, dtype=np.result_type(grad, activations))
        halves = [(slice(0, h // 2), h // 2), (slice(h // 2, h), h - h // 2)]
        sides = [(slice(0, w // 2), w // 2), (slice(w // 2, w), w - w // 2)]
        quarters = [(r, cl, hr * wc) for r, hr in halves for cl, wc in sides]
        for q, (rows, cols, area) in enumerate(quarters):
            d[:, :, rows, cols] = g[:, :, q, None, None] / area  # each quarter's mean
        return d
    return grad.reshape(activations.shape)


def logit_clue_grads(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d margin / d logits (+1 at the top logit, -1 at the second) and d energy / d logits
    (the softmax).  Shape: (N, classes) -> (N, classes), (N, classes)"""
    z = logits.astype(np.float64)
    n = np.arange(len(z))
    order = np.argsort(z, axis=1)
    margin = np.zeros_like(z)
    if z.shape[1] > 1:
        margin[n, order[:, -1]] += 1.0
        margin[n, order[:, -2]] -= 1.0
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return margin, p / p.sum(axis=1, keepdims=True)


def score_and_gradient(
    check, net, x: np.ndarray, stage: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The check's score of each image, computed in the precision of ``net``'s activations
    (float64 for a float64 net and input), and its gradient with respect to the image; with
    ``stage``, that stage's clue alone instead of the score: log r_s, the log of its distance
    over its scale (Lee et al. pre-process the input for each layer's score on its own).

    Forward through ``net`` keeping every layer's output; the score's gradient with respect
    to each read stage's pooled features (Mahalanobis distance to the nearest class, then the
    combination) is taken back through the pooling and added to the gradient arriving at that
    layer's output on the way down.  Eval mode; the parameters' ``grad`` are left as they
    were.  Shape: (N, C, H, W) -> (N,), (N, C, H, W)
    """
    layers = net.layers
    last = len(layers) - 1
    reads = [s.layer if s.layer >= 0 else last for s in check.stages]
    with explaining(net):
        outputs, a = [], x
        for layer in layers:
            a = layer.forward(a)
            outputs.append(a)
        logits = outputs[-1]
        features = [pool(outputs[i], s.pooling) for i, s in zip(reads, check.stages)]
        # each stage: the nearest class, its distance, and d distance / d features
        dists, ddist = [], []
        for g, f in zip(check.gaussians, features):
            f = f.astype(np.float64)
            diffs = f[:, None, :] - g.means[None]  # (N, classes, D)
            pd = np.einsum("nkd,kde->nke", diffs, g.precisions)  # P_k (f - mean_k)
            squared = np.maximum((pd * diffs).sum(axis=2), 0.0)  # (N, classes)
            k = squared.argmin(axis=1)
            d = np.sqrt(squared[np.arange(len(f)), k])
            dists.append(d)
            ddist.append(pd[np.arange(len(f)), k] / np.where(d > 0, d, np.inf)[:, None])
        dist = np.stack(dists, axis=1)  # (N, S)
        r = dist / check.scales
        z = logits.astype(np.float64)
        if stage is not None:  # log r_s: d / d distance_s = 1 / distance_s
            score = np.log(np.maximum(r[:, stage], 1e-12))
            d_dist = np.zeros_like(r)
            d_dist[:, stage] = 1 / np.where(dist[:, stage] > 0, dist[:, stage], np.inf)
            d_logits = np.zeros_like(z)
        elif check.combination is None:  # sqrt(mean r^2)
            score = np.sqrt(np.mean(r**2, axis=1))
            d_dist = r / (len(r[0]) * np.where(score > 0, score, np.inf)[:, None]) / check.scales
            d_logits = np.zeros_like(z)
        else:  # log(1 + exp(w . (clip(clues) - mean) / std + b))
            comb = check.combination
            c = clues(r, z)
            score = comb.score(c)
            t = (np.clip(c, comb.low, comb.high) - comb.mean) / comb.std @ comb.weights
            sig = 1 / (1 + np.exp(-np.clip(t + comb.bias, -500, 500)))
            inside = (c >= comb.low) & (c <= comb.high)  # the clip's derivative
            d_clues = sig[:, None] * inside * comb.weights / comb.std  # (N, K)
            s = len(check.stages)
            kept = r > 1e-12  # clues = log(max(r, 1e-12))
            d_dist = d_clues[:, :s] * kept / np.where(dist > 0, dist, np.inf)
            margin, energy = logit_clue_grads(z)
            d_logits = d_clues[:, s, None] * margin + d_clues[:, s + 1, None] * energy
        inject = {last: d_logits}
        for stage, i, dd, dd_s in zip(check.stages, reads, ddist, d_dist.T):
            grad = pool_backward(outputs[i], stage.pooling, dd_s[:, None] * dd)
            inject[i] = inject[i] + grad if i in inject else grad
        grad = np.zeros_like(logits)
        with input_grad(layers[0], True):
            for i in range(last, -1, -1):
                if i in inject:
                    grad = grad + inject[i].astype(outputs[i].dtype)
                grad = layers[i].backward(grad)
    return score, np.asarray(grad)


def gradient_signs(
    check, net, X: np.ndarray, batch: int = BATCH, stage: int | None = None
) -> np.ndarray:
    """sign(d score / dx) (or of stage ``stage``'s clue) of every image, batch by batch.

    Shape: (N, ...) -> (N, ...) int8"""
    signs = np.empty(X.shape, dtype=np.int8)
    for start in range(0, len(X), batch):
        _, grad = score_and_gradient(check, net, X[start : start + batch], stage)
        signs[start : start + batch] = np.sign(grad)
    return signs


METHODS = ("score", "stages", "stages, learned again")


def stage_clues(check, net, x, eps, signs, logits) -> np.ndarray:
    """The clues with each stage's distance read from the image moved against that stage's
    own gradient (``signs[s]``), the logit clues from the image as it is.

    Shape: (N, C, H, W), [(N, C, H, W) int8 per stage], (N, classes) -> (N, S + 2)"""
    r = np.empty((len(x), len(check.stages)))
    for s, (stage, g) in enumerate(zip(check.stages, check.gaussians)):
        features, _ = stage_features(net, x - np.float32(eps) * signs[s], [stage])
        r[:, s] = g.distance(features[0]) / check.scales[s]
    return clues(r, logits)


def compare(models, epsilons, X, y, sets, check_seed=0, matched=0.017, per_stage=False):
    """Print one row per model, step size and method; return {(model, eps, method): cells}
    (novelty_ensemble.row's cells).  Methods: ``score`` moves each image against the check's
    score; with ``per_stage`` also ``stages`` (each stage's distance read from the image moved
    against that distance alone, Lee et al.'s way, the check's learned weights kept) and
    ``stages, learned again`` (the weights fitted again on those clues, from the held-out
    images and made-up outliers the check's own weights came from)."""
    rows, rng = held_out(len(X), check_seed)
    print_header(("model", "eps", "method"), "| --- | ---: | --- |", matched)
    table = {}
    for path in models:
        start = time.perf_counter()
        model, stats = cnn.load(path), cnn.load_card(path)["normalize"]
        Xn = normalize(X, stats["mean"], stats["std"]).astype(np.float32)
        check = fit_novelty(model, Xn, y, rng=np.random.default_rng([check_seed, 5]))
        net = check.reads(model)
        images = {"held": Xn[rows]}
        per_stage = per_stage and check.combination is not None  # learned weights to keep
        if per_stage:  # the check's learned part: half the held-out rows, outliers from them
            fit, images["made"] = learned_part(Xn, y, rows, rng)
        for name, (x, _, _) in sets.items():
            images[name] = normalize(x, stats["mean"], stats["std"])[:, None].astype(np.float32)
        predicted = {n: cnn.predict(model, x) for n, x in images.items()}
        signs = {n: gradient_signs(check, net, x) for n, x in images.items()}
        if per_stage:
            logits = {n: stage_features(net, x, [])[1] for n, x in images.items()}
            by_stage = {
                n: [gradient_signs(check, net, x, stage=s) for s in range(len(check.stages))]
                for n, x in images.items()
            }
        print(f"(check and gradients of {Path(path).name}: {time.perf_counter() - start:.0f} s)")
        for eps in epsilons:
            moved = {n: check.score(net, x - np.float32(eps) * signs[n]) for n, x in images.items()}
            found = {"score": moved}
            if per_stage:
                c = {
                    n: stage_clues(check, net, x, eps, by_stage[n], logits[n])
                    for n, x in images.items()
                }
                found["stages"] = {n: check.combination.score(v) for n, v in c.items()}
                again = fit_combination(c["held"][fit], c["made"], clue_names(len(check.stages)))
                found["stages, learned again"] = {n: again.score(v) for n, v in c.items()}
            for method, scores in found.items():
                threshold = float(np.quantile(scores["held"], 1 - REFUSE_RATE))
                cells = row(scores, threshold, predicted, sets, matched)
                table[(path, eps, method)] = cells
                print_row((Path(path).stem, f"{eps:g}", method), cells)
    return table


def main(argv=None) -> int:
    args = parse_args(argv)
    photo_novelty.check_inputs(args.models, args.data_dir)
    (X, y), _ = cnn.load_mnist(args.data_dir, download=False)
    X = X[:, None] if X.ndim == 3 else X
    sets = photo_novelty.load_sets(args)
    compare(
        args.models,
        args.epsilons,
        X,
        y.astype(np.int64),
        sets,
        args.check_seed,
        args.matched,
        args.per_stage,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
