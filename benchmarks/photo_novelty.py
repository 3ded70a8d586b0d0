"""The photo benchmark's sets, prepared once, scored in-process for several model files.

    python benchmarks/photo_novelty.py runs/a/best.npz runs/b/best.npz --data-dir DIR --seed 2

benchmarks/photos.py runs ``cnn-numpy predict`` on every photo, as a user would; this script
makes the same sets (same makers, same seeds), prepares each photo once with
``preprocess_digit`` as ``predict`` does, keeps the 28x28 inputs in ``--cache`` and then
scores any number of models with their stored novelty checks in one process.  It prints
the same tables as photos.py for each model (one column per model), so a change to the
novelty check can be measured on every preset in seconds.  Anything chosen by looking at
these numbers is chosen on one ``--seed`` and reported on another.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from photo_scenes import CONDITIONS  # noqa: E402
from photo_subjects import NON_DIGITS  # noqa: E402
from photos import HELD_OUT, auroc, check_inputs, make_set  # noqa: E402

from cnn_numpy.tools.cli.common import int_in  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="model files with a novelty check")
    p.add_argument("--data-dir", default=None, help="folder holding mnist/ and fashion-mnist/")
    p.add_argument("--per-condition", type=int_in(1), default=200)
    p.add_argument("--non-digits", type=int_in(1), default=200)
    p.add_argument("--mnist", type=int_in(1), default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int_in(1), default=2)
    p.add_argument("--cache", default=None, help="folder of prepared sets (made if missing)")
    p.add_argument(
        "--matched",
        type=float,
        default=None,
        help="also the non-digits refused at the threshold that refuses this share of the raw "
        "MNIST digits (e.g. 0.017): checks compared at the same cost in real digits",
    )
    return p.parse_args(argv)


def prepare(items: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """28x28 inputs as ``predict`` prepares them; ok False where it found no ink."""
    from cnn_numpy import preprocess_digit

    images, labels, ok = [], [], []
    for path, label in items:
        try:
            images.append(preprocess_digit(path).image)
            ok.append(True)
        except ValueError:
            images.append(np.zeros((28, 28), np.float32))
            ok.append(False)
        labels.append(label)
    return np.stack(images), np.array(labels), np.array(ok)


def make_and_prepare(job: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One set made (photos.make_set) into a temporary folder and prepared."""
    with tempfile.TemporaryDirectory(prefix="cnn-numpy-photos-") as folder:
        return prepare(make_set((*job[:5], folder, job[5])))


def all_jobs(args) -> list[tuple]:
    """(kind, name, count, seed, scale, data_dir) of every set, seeded as photos.py does."""
    jobs = [
        ("non-digits", k, args.non_digits, [args.seed, 2, i], 1.0, args.data_dir)
        for i, k in enumerate(NON_DIGITS)
    ]
    jobs += [
        ("digits", n, args.per_condition, [args.seed, 1, i], 1.0, args.data_dir)
        for i, n in enumerate([*CONDITIONS, *HELD_OUT])
    ]
    return [*jobs, ("mnist", "mnist28", args.mnist, None, 1.0, args.data_dir)]


def load_sets(args) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every set, prepared: (inputs (N, 28, 28), labels (N,), ink found (N,)); each kept in
    ``--cache`` (a folder, one file per set and seed) and read from there next time."""
    cache = Path(args.cache or tempfile.mkdtemp(prefix="cnn-numpy-sets-"))
    cache.mkdir(parents=True, exist_ok=True)
    jobs = all_jobs(args)

    def file(job):
        name = re.sub(r"[^a-z0-9]+", "-", job[1].lower()).strip("-")
        return cache / f"{name}-seed{args.seed}-{job[2]}.npz"

    missing = [j for j in jobs if not file(j).is_file()]
    with ProcessPoolExecutor(args.jobs) as pool:
        for job, made in zip(missing, pool.map(make_and_prepare, missing)):
            np.savez_compressed(file(job), x=made[0], y=made[1], ok=made[2])
            print(f"made {job[1]} ({job[2]} images)", flush=True)
    sets = {}
    for job in jobs:
        with np.load(file(job)) as data:
            sets[job[1]] = (data["x"], data["y"], data["ok"])
    return sets


def answers(model_path: str, sets) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """{set: (predicted, refused, score)} with the model file's own novelty check."""
    import cnn_numpy as cnn
    from cnn_numpy.data import normalize

    model, novelty = cnn.load(model_path), cnn.load_novelty(model_path)
    stats = cnn.load_card(model_path).get("normalize") or {"mean": 0.0, "std": 1.0}
    out = {}
    for name, (x, _, ok) in sets.items():
        inputs = normalize(x, stats["mean"], stats["std"])[:, None]
        answer = cnn.predict_with_novelty(model, inputs, novelty)
        out[name] = (answer.predicted, answer.refused | ~ok, np.where(ok, answer.scores, np.inf))
    return out


def table(models: list[str], sets, matched: float | None = None) -> None:
    results = [answers(m, sets) for m in models]
    names = [Path(m).parent.name or m for m in models]
    if len(set(names)) < len(names):  # files of one folder: named by their own names
        names = [Path(m).stem for m in models]
    heads = " | ".join(names)
    print("Each cell: right and accepted % / the answer right, refusals aside % / refused %\n")
    print(f"| set | images | {heads} |")
    print("| --- | ---: |" + " ---: |" * len(models))
    digit_sets = [*CONDITIONS, *HELD_OUT, "mnist28"]
    for name in digit_sets:
        y = sets[name][1]
        cells = [
            f"{np.mean((p == y) & ~r):.1%} / {np.mean(p == y):.1%} / {np.mean(r):.1%}"
            for p, r, _ in (a[name] for a in results)
        ]
        print(f"| {name} | {len(y)} | {' | '.join(cells)} |")
    tuned = list(CONDITIONS)
    cells = []
    for a in results:
        accepted = [np.mean((a[n][0] == sets[n][1]) & ~a[n][1]) for n in tuned]
        answered = [np.mean(a[n][0] == sets[n][1]) for n in tuned]
        cells.append(
            f"{np.mean(accepted):.1%} (worst {min(accepted):.1%}) / "
            f"{np.mean(answered):.1%} (worst {min(answered):.1%})"
        )
    print(f"| all conditions | | {' | '.join(cells)} |")
    print(f"\n| non-digit | images | {heads} |  (refused %, AUROC)")
    print("| --- | ---: |" + " ---: |" * len(models))
    for kind in NON_DIGITS:
        cells = []
        for a in results:
            digits = np.concatenate([a[n][2] for n in tuned])
            cells.append(f"{np.mean(a[kind][1]):.1%}  {auroc(digits, a[kind][2]):.3f}")
        print(f"| {kind} | {len(sets[kind][1])} | {' | '.join(cells)} |")
    cells = [f"{np.mean(np.concatenate([a[k][1] for k in NON_DIGITS])):.1%}" for a in results]
    print(f"| all | | {' | '.join(cells)} |")
    if matched is not None:
        matched_table(results, heads, len(models), matched)


def matched_table(results: list[dict], heads: str, columns: int, rate: float) -> None:
    """Non-digits refused by each check at the threshold that refuses ``rate`` of the raw
    MNIST digits (instead of its own): two checks compared at the same cost in digits."""
    print(f"\n| non-digit, threshold refusing {rate:.1%} of raw MNIST | images | {heads} |")
    print("| --- | ---: |" + " ---: |" * columns)
    limits = [np.quantile(a["mnist28"][2], 1 - rate) for a in results]
    for kind in [*NON_DIGITS, "all"]:
        kinds = NON_DIGITS if kind == "all" else [kind]
        cells = []
        for a, limit in zip(results, limits):
            scores = np.concatenate([a[k][2] for k in kinds])
            cells.append(f"{np.mean(scores > limit):.1%}")
        count = sum(len(results[0][k][2]) for k in kinds)
        print(f"| {kind} | {count} | {' | '.join(cells)} |")


def main(argv=None) -> int:
    args = parse_args(argv)
    check_inputs(args.models, args.data_dir)
    table(args.models, load_sets(args), args.matched)
    return 0


if __name__ == "__main__":
    sys.exit(main())
