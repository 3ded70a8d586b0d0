"""Do three standard post-hoc scores (ReAct, GradNorm, deep nearest neighbours), as clues of the
check's learned combination or alone, refuse more non-digits than the check as it is?

    python benchmarks/novelty_clues.py /tmp/nt/plain-seed{0,1,2}.npz --data-dir DATA \
        --seed 1 --per-condition 50 --non-digits 60 --cache /tmp/nv/cache1 \
        --percentiles 80 85 90 95 99 --ks 10 50 200

Read from the penultimate activations h (the input of the last Linear, W h + b = z; for LeNet
the output of Linear(1568, 128) + ReLU) and the check's own stage features:

    ReAct    (Sun, Guo and Li, NeurIPS 2021)   z' = W min(h, c) + b, c the p-th percentile of
             all of h's values over the held-out training images; clues: the margin and the
             energy (logsumexp) of z' (``react_logits``)
    GradNorm (Huang, Geng and Li, NeurIPS 2021)  |d KL(u || softmax(z)) / dW|_1
             = |h|_1 |softmax(z) - u|_1, u uniform (``gradnorm``); and |h|_2 alone
    kNN      (Sun, Ming, Zhu and Li, ICML 2022)  the distance from h / |h| to its k-th nearest
             neighbour among the training images' h / |h| (``knn_distance``); also each stage's
             features normalised the same way, one distance per stage

Each is tried as an extra clue of the check's logistic regression (combine.py, fitted on the
same held-out images and made-up outliers as the check's own weights: ``learned_part``), in
place of the check's clues, and alone (its own score, thresholded at 1.5% of the held-out
images).  The Gaussians' training images (the check's fit rows) are the kNN's memory.  For each
model file the check is fitted as ``train`` fits it (``fit_novelty``, seeded ``[--check-seed,
5]``).  The photo sets are photo_novelty.py's (the same arguments, the same ``--cache``); the
answer is always the model's.  Each row is novelty_ensemble.py's; a last table gives, per
method, the change from the check over the models and whether it clears the bar fixed before
looking: +1.5 points of non-digits refused on average, the letters up, at the check's own
threshold and at ``--matched`` of raw MNIST refused, raw MNIST refused <= 2%.
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
from photo_subjects import NON_DIGITS  # noqa: E402

import cnn_numpy as cnn  # noqa: E402
from cnn_numpy.data import normalize  # noqa: E402
from cnn_numpy.layers import Linear  # noqa: E402
from cnn_numpy.tools.novelty import fit_novelty  # noqa: E402
from cnn_numpy.tools.novelty.combine import clues, fit_combination  # noqa: E402
from cnn_numpy.tools.novelty.detector import MAX_IMAGES  # noqa: E402
from cnn_numpy.tools.novelty.features import Stage, softmax, stage_features  # noqa: E402

REFUSE_RATE = 0.015
#: the bar a variant must clear on the fit seed before the report seed is measured
BAR_GAIN, BAR_MNIST = 0.015, 0.02
CHUNK = 500


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="MNIST model files (their cards' normalisation)")
    p.add_argument("--data-dir", required=True, help="folder holding mnist/ (and fashion-mnist/)")
    p.add_argument("--percentiles", type=float, nargs="+", default=[80, 85, 90, 95, 99])
    p.add_argument("--ks", type=int, nargs="+", default=[10, 50, 200])
    p.add_argument(
        "--all",
        nargs=2,
        type=float,
        metavar=("P", "K"),
        help="the percentile and k of the row with every new clue (default: 90 and 50, or the "
        "middle of --percentiles and --ks where they lack them)",
    )
    args = parse_with_set_arguments(p, argv)
    bad = [q for q in args.percentiles if not (np.isfinite(q) and 0 < q <= 100)]
    if bad:
        p.error(f"--percentiles must be numbers above 0 and at most 100, got {bad}")
    if min(args.ks) < 1:
        p.error(f"--ks must be whole numbers of 1 or more, got {args.ks}")
    if args.all is None:  # --percentiles 95 --ks 10 alone must not trip over a default
        args.all = [
            90 if 90 in args.percentiles else sorted(args.percentiles)[len(args.percentiles) // 2],
            50 if 50 in args.ks else sorted(args.ks)[len(args.ks) // 2],
        ]
    if args.all[0] not in args.percentiles or args.all[1] not in args.ks:
        p.error(
            f"--all {args.all[0]:g} {args.all[1]:g}: the percentile must be one of "
            "--percentiles and k one of --ks"
        )
    return args


def react_logits(h: np.ndarray, c: float, weight: np.ndarray, bias) -> np.ndarray:
    """ReAct's logits: the penultimate activations clipped at ``c``, through the last Linear.

    z' = min(h, c) W^T + b.  Shape: (N, D), (K, D), (K,) -> (N, K) float64"""
    z = np.minimum(h.astype(np.float64), c) @ weight.astype(np.float64).T
    return z if bias is None else z + bias


def gradnorm(h: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """GradNorm: the L1 norm of d KL(u || softmax(z)) / dW for z = W h + b, u uniform.

    KL = sum_k u_k log(u_k / p_k) = -log K - mean_k z_k + logsumexp(z), so dKL/dz = p - u and,
    z_k depending on W_kj through h_j alone, dKL/dW = (p - u) h^T: an outer product, whose
    L1 norm is |p - u|_1 |h|_1.  Shape: (N, D), (N, K) -> (N,)"""
    p = softmax(logits.astype(np.float64))
    return np.abs(p - 1 / p.shape[1]).sum(axis=1) * np.abs(h.astype(np.float64)).sum(axis=1)


def unit(f: np.ndarray) -> np.ndarray:
    """Each row over its L2 norm (a row of zeros stays zero).  Shape: (N, D) -> (N, D) float32"""
    f = f.astype(np.float64)
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    return (f / np.where(norm > 0, norm, 1.0)).astype(np.float32)


def knn_distance(queries: np.ndarray, memory: np.ndarray, ks: list[int]) -> np.ndarray:
    """The Euclidean distance from each (L2-normalised) query to its k-th nearest neighbour
    in ``memory`` (L2-normalised), for each k: |a - b|^2 = 2 - 2 a.b for unit vectors.

    Shape: (N, D), (M, D), [k] -> (N, len(ks)) float64"""
    if max(ks) > len(memory):
        raise ValueError(f"knn: k = {max(ks)} neighbours asked of {len(memory)} stored images")
    out = np.empty((len(queries), len(ks)))
    kth = [k - 1 for k in ks]
    for start in range(0, len(queries), CHUNK):
        sims = queries[start : start + CHUNK] @ memory.T  # (chunk, M)
        nearest = np.partition(-sims, kth, axis=1)[:, kth]  # the k-th largest similarity
        out[start : start + CHUNK] = np.sqrt(np.maximum(2 + 2 * nearest, 0.0))
    return out


def log(v: np.ndarray) -> np.ndarray:
    """log(v), with v floored at 1e-12 as combine.clues floors the distances."""
    return np.log(np.maximum(v, 1e-12))


def rows_of_fit(n: int, seed: int, held: int) -> np.ndarray:
    """The rows whose features ``fit_novelty(rng=default_rng([seed, 5]))`` fits its Gaussians
    on (the ones after the ``held`` held-out rows of its random order)."""
    return np.random.default_rng([seed, 5]).permutation(n)[:MAX_IMAGES][held:]


def all_clues(check, net, images: dict, memory: dict, percentiles, ks) -> dict:
    """{set: {clue: (N,) or (N, columns)}}: the check's own clues ("check": log r_s, margin,
    energy), ReAct's margin and energy at each percentile, log GradNorm, log |h|_2, log kNN
    distance of h and of each stage, at each k.  ``memory``: the clip points {p: c} and the
    normalised training features {"h": (M, D), stage s: (M, D_s)}."""
    last = net.layers[-1]
    penult = Stage(len(net.layers) - 2, "flat")
    found = {}
    for name, x in images.items():
        features, z = stage_features(net, x, [*check.stages, penult])
        h, features = features[-1], features[:-1]
        c = {"check": clues(check.stage_scores(features), z), "logits": z}
        for q in percentiles:
            clipped = react_logits(h, memory["clip"][q], last.weight.data, bias_of(last))
            c[f"react{q:g}"] = clues(np.zeros((len(h), 0)), clipped)  # margin, energy
        c["gradnorm"] = log(gradnorm(h, z))
        c["norm"] = log(np.linalg.norm(h.astype(np.float64), axis=1))
        knn = log(knn_distance(unit(h), memory["h"], ks))
        stages = [log(knn_distance(unit(f), memory[s], ks)) for s, f in enumerate(features)]
        for j, k in enumerate(ks):
            c[f"knn{k}"] = knn[:, j]
            c[f"knn stages{k}"] = np.column_stack([d[:, j] for d in stages])
        found[name] = c
    return found


def bias_of(layer):
    return None if layer.bias is None else layer.bias.data.astype(np.float64)


def method_clues(percentiles, ks, every: tuple[float, int]) -> dict:
    """{method: (distance clues, free clues)} for the learned combinations (distance clues'
    weights kept >= 0), or {method: (clue, sign)} for a score alone (sign * clue)."""
    s = "check"
    logit = [(s, "logits")]
    made = {}
    for q in percentiles:
        made[f"+ react {q:g}"] = ([(s, "distances")], [*logit, (f"react{q:g}", None)])
        made[f"react {q:g} for margin, energy"] = ([(s, "distances")], [(f"react{q:g}", None)])
        made[f"react {q:g} energy alone"] = ((f"react{q:g}", 1), -1)
    made["energy alone (no clip)"] = ((s, -1), -1)
    made["+ gradnorm"] = ([(s, "distances")], [*logit, ("gradnorm", None)])
    made["+ norm of h"] = ([(s, "distances")], [*logit, ("norm", None)])
    made["+ gradnorm, norm of h"] = (
        [(s, "distances")],
        [*logit, ("gradnorm", None), ("norm", None)],
    )
    made["gradnorm for margin, energy"] = ([(s, "distances")], [("gradnorm", None)])
    made["gradnorm alone"] = (("gradnorm", None), -1)
    made["norm of h alone"] = (("norm", None), -1)
    for k in ks:
        made[f"+ knn {k}"] = ([(s, "distances"), (f"knn{k}", None)], logit)
        made[f"+ knn stages {k}"] = ([(s, "distances"), (f"knn stages{k}", None)], logit)
        made[f"knn stages {k} for the distances"] = ([(f"knn stages{k}", None)], logit)
        made[f"knn {k} alone"] = ((f"knn{k}", None), 1)
    q, k = every
    made["+ all three"] = (
        [(s, "distances"), (f"knn{k:g}", None), (f"knn stages{k:g}", None)],
        [*logit, (f"react{q:g}", None), ("gradnorm", None), ("norm", None)],
    )
    return made


def columns(c: dict, parts, stages: int) -> np.ndarray:
    """The named clues side by side.  Shape: -> (N, K)"""
    out = []
    for key, part in parts:
        v = c[key]
        if isinstance(part, int):  # one column
            v = v[:, part]
        elif key == "check":
            v = v[:, :stages] if part == "distances" else v[:, stages:]
        out.append(v.reshape(len(v), -1))
    return np.column_stack(out)


def method_scores(check, found: dict, fit: np.ndarray, spec) -> dict[str, np.ndarray]:
    """Every set's scores under one method (``method_clues``'s spec)."""
    first, second = spec
    stages = len(check.stages)
    if isinstance(second, int):  # a score alone
        key, part = first
        return {n: second * columns(c, [(key, part)], stages)[:, 0] for n, c in found.items()}
    both = {
        n: np.column_stack([columns(c, first, stages), columns(c, second, stages)])
        for n, c in found.items()
    }
    free = both["made"].shape[1] - columns(found["made"], first, stages).shape[1]
    names = [f"c{i}" for i in range(both["made"].shape[1])]
    combination = fit_combination(both["held"][fit], both["made"], names, free=free)
    return {n: combination.score(v) for n, v in both.items()}


def compare(models, X, y, sets, percentiles, ks, every=(90, 50), check_seed=0, matched=0.017):
    """Print one row per model and method; return {(model, method): cells} (novelty_ensemble's
    row cells) and print the bar table (``bar``)."""
    rows, rng = held_out(len(X), check_seed)
    memory_rows = rows_of_fit(len(X), check_seed, len(rows))
    print_header(("model", "method"), "| --- | --- |", matched)
    table = {}
    for path in models:
        start = time.perf_counter()
        model, stats = cnn.load(path), cnn.load_card(path)["normalize"]
        Xn = normalize(X, stats["mean"], stats["std"]).astype(np.float32)
        check = fit_novelty(model, Xn, y, rng=np.random.default_rng([check_seed, 5]))
        net = check.reads(model)
        if not isinstance(net.layers[-1], Linear):
            raise SystemExit(f"error: {path}: the network does not end in a Linear layer")
        fit, made = learned_part(Xn, y, rows, rng)
        images = {"held": Xn[rows], "made": made}
        for name, (x, _, _) in sets.items():
            images[name] = normalize(x, stats["mean"], stats["std"])[:, None].astype(np.float32)
        penult = Stage(len(net.layers) - 2, "flat")
        features, _ = stage_features(net, Xn, [*check.stages, penult], rows=memory_rows)
        held_h = stage_features(net, images["held"], [penult])[0][0]
        memory = {"h": unit(features[-1]), **{s: unit(f) for s, f in enumerate(features[:-1])}}
        memory["clip"] = {q: float(np.percentile(held_h, q)) for q in percentiles}
        mb = {"h": memory["h"].nbytes / 1e6, "stages": sum(f.nbytes for f in features[:-1]) / 1e6}
        found = all_clues(check, net, images, memory, percentiles, ks)
        predicted = {n: found[n]["logits"].argmax(1) for n in sets}
        if net is not model:
            predicted = {n: cnn.predict(model, images[n]) for n in sets}
        clips = ", ".join(f"p{q:g} {c:.2f}" for q, c in memory["clip"].items())
        print(
            f"({Path(path).name}: {time.perf_counter() - start:.0f} s; ReAct clips {clips} "
            f"(h's max {held_h.max():.2f}); kNN memory of {len(memory_rows)} images, float32: "
            f"h {mb['h']:.1f} MB, the stages {mb['stages']:.1f} MB)",
            flush=True,
        )
        scores = {
            "check": (
                {n: check.combination.score(c["check"]) for n, c in found.items()},
                check.threshold,
            )
        }
        for method, spec in method_clues(percentiles, ks, every).items():
            s = method_scores(check, found, fit, spec)
            scores[method] = (s, float(np.quantile(s["held"], 1 - REFUSE_RATE)))
        for method, (s, threshold) in scores.items():
            cells = row(s, threshold, predicted, sets, matched)
            table[(path, method)] = cells
            print_row((Path(path).stem, method), cells)
    bar(table, models)
    return table


def bar(table: dict, models: list) -> dict[str, bool]:
    """Per method, over the models: the change from the check in non-digits refused and in
    letters refused, at the own threshold and at the matched one; the most raw MNIST refused;
    and whether it clears the bar.  Returns {method: cleared}."""
    kinds = list(NON_DIGITS)
    own_all, letters, mnist = 0, 1 + kinds.index("letters"), 1 + len(kinds)
    at_all, at_letters = mnist + 2, mnist + 3
    print(
        "\n| method | all, own | letters, own | all, matched | letters, matched "
        "| most MNIST refused | clears |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    cleared = {}
    for method in dict.fromkeys(m for _, m in table):
        if method == "check":
            continue
        gains = [
            np.mean([table[(p, method)][col] - table[(p, "check")][col] for p in models])
            for col in (own_all, letters, at_all, at_letters)
        ]
        worst = max(table[(p, method)][mnist] for p in models)
        ok = (
            gains[0] >= BAR_GAIN - 1e-9
            and gains[2] >= BAR_GAIN - 1e-9
            and gains[1] > 0
            and gains[3] > 0
            and worst <= BAR_MNIST
        )
        cleared[method] = ok
        cells = " | ".join(f"{round(g * 100, 1) + 0.0:+.1f}" for g in gains)  # no -0.0
        print(f"| {method} | {cells} | {worst:.1%} | {'yes' if ok else 'no'} |")
    return cleared


def main(argv=None) -> int:
    args = parse_args(argv)
    photo_novelty.check_inputs(args.models, args.data_dir)
    (X, y), _ = cnn.load_mnist(args.data_dir, download=False)
    X = X[:, None] if X.ndim == 3 else X
    sets = photo_novelty.load_sets(args)
    compare(
        args.models,
        X,
        y.astype(np.int64),
        sets,
        args.percentiles,
        args.ks,
        tuple(args.all),
        args.check_seed,
        args.matched,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
