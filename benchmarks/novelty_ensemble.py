"""Does a second network's novelty check, read beside the model's own, refuse more non-digits?

    python benchmarks/novelty_ensemble.py /tmp/nt/plain-seed{0,1,2}.npz --data-dir DATA \
        --seed 1 --per-condition 50 --non-digits 60 --cache /tmp/nv/cache1 \
        --partners lenet:1 /tmp/nt/plain-seed0.npz

An ensemble of independently trained networks detects inputs unlike its training data better
than one network (Lakshminarayanan, Pritzel and Blundell, NeurIPS 2017).  For each model file
and each partner network, both checks are fitted as ``train`` fits them (the model's own, and
the partner's as a reader's: ``fit_novelty(model, ..., reader=partner)``, the same seed, so
the same held-out images) and combined:

    own, partner   each check alone, at its own threshold
    sum            s_own / t_own + s_partner / t_partner     each score in its threshold's units
    max            max of the same
    joint          one logistic regression over both networks' clues (combine.py), from the
                   same held-out images and made-up outliers as the own check's
    sum, max and joint refuse above the quantile that refuses 1.5% of the held-out images

A partner is ``lenet:N`` (a LeNet trained N epochs as ``train_reader`` trains a reader, one
process, seeded ``[reader seed, 6]`` as ``train`` seeds it; ``--reader-seeds``, one per model,
default 0, 1, 2, ...) or another model file (its network; skipped beside itself).  The photo
sets are photo_novelty.py's (the same arguments, the same ``--cache``); the answer is always
the model's.  Each row: the non-digits refused, all and per kind; raw MNIST test digits
refused; the worst photo condition's right-and-accepted share; and the non-digits refused at
the threshold that refuses ``--matched`` of raw MNIST.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import photo_novelty  # noqa: E402
from photo_scenes import CONDITIONS  # noqa: E402
from photo_subjects import NON_DIGITS  # noqa: E402

import cnn_numpy as cnn  # noqa: E402
from cnn_numpy.data import normalize  # noqa: E402
from cnn_numpy.tools.cli.common import int_in  # noqa: E402
from cnn_numpy.tools.novelty import fit_novelty, train_reader  # noqa: E402
from cnn_numpy.tools.novelty.combine import LOGIT_CLUES, clues, fit_combination  # noqa: E402
from cnn_numpy.tools.novelty.detector import MAX_IMAGES  # noqa: E402
from cnn_numpy.tools.novelty.exposure import OUTLIERS  # noqa: E402
from cnn_numpy.tools.novelty.features import stage_features  # noqa: E402
from cnn_numpy.tools.novelty.outliers import make_outliers  # noqa: E402

REFUSE_RATE = 0.015
METHODS = ("own", "partner", "sum", "max", "joint")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="MNIST model files (their cards' normalisation)")
    p.add_argument("--data-dir", required=True, help="folder holding mnist/ (and fashion-mnist/)")
    p.add_argument("--partners", nargs="+", default=["lenet:1"], help="lenet:N or model files")
    p.add_argument("--reader-seeds", type=int, nargs="+", default=None)
    args = parse_with_set_arguments(p, argv)
    for text in args.partners:
        if not text.startswith("lenet:") and not Path(text).is_file():
            raise SystemExit(f"error: partner {text!r} is neither lenet:N nor a model file")
    return args


def parse_with_set_arguments(p: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """``p`` with the flags every novelty benchmark takes (the checks' seed, the photo sets'
    sizes, seed and cache, the share of raw MNIST for ``--matched``), parsed and checked."""
    p.add_argument("--check-seed", type=int, default=0, help="train's --seed for the checks")
    p.add_argument("--matched", type=float, default=0.017)
    for flag, default in (("--per-condition", 200), ("--non-digits", 200), ("--mnist", 10000)):
        p.add_argument(flag, type=int_in(1), default=default)
    p.add_argument("--seed", type=int, default=0, help="the photo sets' seed")
    p.add_argument("--jobs", type=int_in(1), default=2)
    p.add_argument("--cache", default=None)
    args = p.parse_args(argv)
    if not 0 < args.matched < 1:
        p.error(f"--matched must be a share between 0 and 1, got {args.matched}")
    return args


def held_out(n: int, seed: int, holdout: float = 0.2):
    """The rows ``fit_novelty(rng=default_rng([seed, 5]))`` holds out of ``n`` images, and the
    generator its learned part then draws from, drawn in the order it draws them."""
    rng = np.random.default_rng([seed, 5])
    order = rng.permutation(n)[:MAX_IMAGES]
    rows = order[: max(1, int(round(holdout * len(order))))]
    return rows, np.random.default_rng(rng.integers(2**63))


def clues_of(check, net, images: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Each set's clues under ``check`` read from ``net``, and ``net``'s answers.

    Shape: {(N, C, H, W)} -> {(N, K)}, {(N,)}"""
    found, answers = {}, {}
    for name, x in images.items():
        features, logits = stage_features(net, x, check.stages)
        found[name], answers[name] = clues(check.stage_scores(features), logits), logits.argmax(1)
    return found, answers


def joint_scores(own: dict, other: dict, fit: np.ndarray) -> dict[str, np.ndarray]:
    """One regression over both networks' clues: the distances first (weights kept >= 0),
    then the four logit clues; fitted on the held-out images ``fit`` against the outliers."""
    k = len(LOGIT_CLUES)

    def both(name, rows=slice(None)):
        a, b = own[name][rows], other[name][rows]
        return np.column_stack([a[:, :-k], b[:, :-k], a[:, -k:], b[:, -k:]])

    names = [f"c{i}" for i in range(both("made").shape[1])]
    combination = fit_combination(both("held", fit), both("made"), names, free=2 * k)
    return {name: combination.score(both(name)) for name in own}


def methods(own_check, other_check, own: dict, other: dict, fit) -> dict[str, tuple]:
    """{method: (scores of every set, threshold)}"""
    a = {n: own_check.combination.score(c) / own_check.threshold for n, c in own.items()}
    b = {n: other_check.combination.score(c) / other_check.threshold for n, c in other.items()}
    made = {
        "own": (a, 1.0),
        "partner": (b, 1.0),
        "sum": ({n: a[n] + b[n] for n in a}, None),
        "max": ({n: np.maximum(a[n], b[n]) for n in a}, None),
        "joint": (joint_scores(own, other, fit), None),
    }
    return {
        m: (s, t if t is not None else float(np.quantile(s["held"], 1 - REFUSE_RATE)))
        for m, (s, t) in made.items()
    }


def row(scores: dict, threshold: float, predicted: dict, sets: dict, matched: float) -> list:
    """The table's cells for one check: refused shares in %, and the held-out refused."""
    refused = {n: ~ok | (scores[n] > threshold) for n, (_, _, ok) in sets.items()}
    kinds = [refused[k].mean() for k in NON_DIGITS]
    every = np.concatenate([refused[k] for k in NON_DIGITS]).mean()
    worst = min(np.mean((predicted[c] == sets[c][1]) & ~refused[c]) for c in CONDITIONS)
    inf = {n: np.where(sets[n][2], scores[n], np.inf) for n in sets}
    limit = np.quantile(inf["mnist28"], 1 - matched)
    at = [np.mean(inf[k] > limit) for k in NON_DIGITS]
    at_all = np.mean(np.concatenate([inf[k] > limit for k in NON_DIGITS]))
    held = np.mean(scores["held"] > threshold)
    return [every, *kinds, refused["mnist28"].mean(), worst, at_all, at[1], at[2], held]


def compare(models, partners, reader_seeds, X, y, sets, check_seed=0, matched=0.017):
    """Print one table row per model, partner and method; return the rows {(m, p, method): cells}."""
    rows, rng = held_out(len(X), check_seed)
    print_header(("model", "partner", "method"), "| --- | --- | --- |", matched)
    table = {}
    for path, reader_seed in zip(models, reader_seeds):
        model, stats = cnn.load(path), cnn.load_card(path)["normalize"]
        Xn = normalize(X, stats["mean"], stats["std"]).astype(np.float32)
        own_check = fit_novelty(model, Xn, y, rng=np.random.default_rng([check_seed, 5]))
        # the own check's learned part: half the held-out rows, outliers made from them
        fit, made = learned_part(Xn, y, rows, rng)
        images = {"held": Xn[rows], "made": made}
        for name, (x, _, _) in sets.items():
            images[name] = normalize(x, stats["mean"], stats["std"])[:, None]
        own, predicted = clues_of(own_check, model, images)
        for text in partners:
            if Path(text).is_file() and Path(text).resolve() == Path(path).resolve():
                continue
            start = time.perf_counter()
            if text.startswith("lenet:"):
                net = train_reader(
                    Xn, y, rng=np.random.default_rng([reader_seed, 6]), epochs=int(text[6:])
                )
                text = f"{text} (seed {reader_seed}, {time.perf_counter() - start:.0f} s)"
            else:
                net = cnn.load(text)
            other_check = fit_novelty(
                model, Xn, y, rng=np.random.default_rng([check_seed, 5]), reader=net
            )
            other, _ = clues_of(other_check, net, images)
            for method, (scores, threshold) in methods(
                own_check, other_check, own, other, fit
            ).items():
                cells = row(scores, threshold, predicted, sets, matched)
                table[(path, text, method)] = cells
                print_row((Path(path).stem, text, method), cells)
    return table


def print_header(columns: tuple[str, ...], rule: str, matched: float) -> None:
    """The table's first two lines: ``columns``, then ``row``'s cells."""
    heads = ["all", *(k[:12] for k in NON_DIGITS), "MNIST refused", "worst photo"]
    heads += [f"all at {matched:.1%}", "letters at", "handwr. at", "held-out refused"]
    print("| " + " | ".join(columns) + " | " + " | ".join(heads) + " |")
    print(rule + " ---: |" * len(heads))


def print_row(labels: tuple, cells: list) -> None:
    """One table line: its labels, then ``row``'s cells as percentages."""
    print(
        "| "
        + " | ".join(str(v) for v in labels)
        + " | "
        + " | ".join(f"{c:.1%}" for c in cells)
        + " |",
        flush=True,
    )


def learned_part(Xn: np.ndarray, y: np.ndarray, rows: np.ndarray, rng: np.random.Generator):
    """What the check's learned weights came from, replayed: half of the held-out ``rows``
    (their positions in ``rows``) and the made-up outliers made from them."""
    replay = rng_copy(rng)
    fit = replay.permutation(len(rows))[len(rows) // 2 :]
    return fit, make_outliers(Xn[rows[fit]], y[rows[fit]], min(OUTLIERS, len(fit)), replay)


def rng_copy(rng: np.random.Generator) -> np.random.Generator:
    """A generator in the same state (the draws of fit_novelty's learned part, replayed)."""
    copy = np.random.default_rng()
    copy.bit_generator.state = rng.bit_generator.state
    return copy


def main(argv=None) -> int:
    args = parse_args(argv)
    photo_novelty.check_inputs(args.models, args.data_dir)
    (X, y), _ = cnn.load_mnist(args.data_dir, download=False)
    X = X[:, None] if X.ndim == 3 else X
    seeds = args.reader_seeds or list(range(len(args.models)))
    if len(seeds) != len(args.models):
        raise SystemExit("error: --reader-seeds needs one seed per model")
    compare(
        args.models,
        args.partners,
        seeds,
        X,
        y.astype(np.int64),
        photo_novelty.load_sets(args),
        args.check_seed,
        args.matched,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
