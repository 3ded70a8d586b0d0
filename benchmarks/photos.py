"""Photographed digits and things that are not digits, through ``cnn-numpy predict``.

    python benchmarks/photos.py runs/mnist-lenet-.../best.npz --data-dir ../shared/data

Makes photos of MNIST test digits rewritten with a pen (benchmarks/photo_scenes.py: paper
texture, a lamp's gradient, a soft shadow, a dark desk around the sheet, a blue ballpoint,
JPEG 60-90, everything at once, everything at once and out of focus; digits 110-300 px
tall) and of non-digits (Fashion-MNIST items drawn on paper, letters from fonts, handwritten
letters, noise, smooth textures, scribbles, doodles; the handwritten letters and the doodles
with a pen model of their own, benchmarks/photo_handwriting.py), runs the CLI on them as a
user would, and prints accuracy per condition (a refusal is not right), refusal rates per
kind, the AUROC of the novelty score against each kind of non-digit, and how long a
12-megapixel photo takes to prepare.  Nothing in the novelty check is fitted on these
photos; anything chosen by looking at them is chosen on one ``--seed`` and reported on
another (benchmarks/photo_novelty.py scores several model files on the same sets).  Rows marked "held out" (red and green pens, pencil)
were never looked at while the preparation was tuned; ``--scale 1.3`` widens every random
range beyond the tuned ones.  The exit status is 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from photo_scenes import CONDITIONS, Look, lamp, linear  # noqa: E402
from photo_subjects import NON_DIGITS, digit_photo, non_digit_photo  # noqa: E402

from cnn_numpy.tools.cli.common import int_in  # noqa: E402

HELD_OUT = {
    "red pen (held out)": "red",
    "green pen (held out)": "green",
    "pencil (held out)": "pencil",
}
#: issue 24's goals: every condition 90% right, raw MNIST 98.5% right and at most 2%
#: refused, non-digits 90% refused and every kind 80%
TARGETS = {
    "photos": 0.95,
    "condition": 0.90,
    "mnist": 0.985,
    "mnist_refused": 0.02,
    "non_digits": 0.90,
    "kind": 0.80,
}
LINE = re.compile(r"^(?P<name>\S+): (?P<verdict>.+?)    ")
SCORE = re.compile(r"novelty (?P<score>[\d.]+)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a model file with a novelty check (cnn-numpy train's)")
    p.add_argument("--data-dir", default=None, help="folder holding mnist/ and fashion-mnist/")
    p.add_argument(
        "--per-condition", type=int_in(1), default=200, help="digit photos per condition"
    )
    p.add_argument("--non-digits", type=int_in(1), default=200, help="photos per kind of non-digit")
    p.add_argument("--mnist", type=int_in(1), default=10000, help="MNIST test digits as 28x28 PNGs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="widen every random range of the photos this many times",
    )
    p.add_argument(
        "--jobs", type=int_in(1), default=2, help="processes making photos and predicting"
    )
    p.add_argument("--keep", default=None, metavar="DIR", help="keep the photos in DIR")
    return p.parse_args(argv)


def check_inputs(models: list[str], data_dir: str | None) -> None:
    """Before minutes of photo-making: every model file is there, and ``data_dir`` (the folder
    holding mnist/ and fashion-mnist/) holds both datasets; nothing is downloaded here."""
    from cnn_numpy.data.datasets import locate

    for path in models:
        if not Path(path).is_file():
            raise SystemExit(f"error: no such model file: {path}")
    for name in ("mnist", "fashion-mnist"):
        try:
            locate(name, data_dir, download=False)
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(
                f"error: --data-dir is the folder holding mnist/ and fashion-mnist/: {err}"
            ) from None


def make_set(job: tuple) -> list[tuple[str, int]]:
    """Write one set of photos; [(path, label)] (label -1 for a non-digit)."""
    kind, name, count, seed, scale, folder, data_dir = job
    import cnn_numpy as cnn

    rng = np.random.default_rng(seed)
    folder = Path(folder) / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    if kind == "digits":
        _, (X, y) = cnn.load_mnist(data_dir, download=False)
        ink = HELD_OUT.get(name)
        look = Look(ink=ink, scale=scale) if ink else Look(**CONDITIONS[name], scale=scale)
        for k in range(count):
            i = int(rng.integers(len(X)))
            data, suffix = digit_photo(X[i, 0], look, rng)
            made.append((write(folder / f"{k:04d}-{y[i]}{suffix}", data), int(y[i])))
    elif kind == "mnist":
        _, (X, y) = cnn.load_mnist(data_dir, download=False)
        for i in range(count):
            path = folder / f"{i:05d}-{y[i]}.png"
            Image.fromarray(np.round(X[i, 0] * 255).astype(np.uint8)).save(path)
            made.append((str(path), int(y[i])))
    else:
        _, (F, _) = cnn.load_fashion_mnist(data_dir, download=False)
        for k in range(count):
            data, suffix = non_digit_photo(name, rng, F[:, 0], scale)
            made.append((write(folder / f"{k:04d}{suffix}", data), -1))
    return made


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def predict(job: tuple) -> dict[str, tuple[str, float]]:
    """Run ``cnn-numpy predict`` on some files: {path: (verdict, score)}; verdict "error"
    for a file the CLI could not read or found no digit in."""
    model, paths = job
    done = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "predict", model, *paths],
        capture_output=True,
        text=True,
    )
    answers = {}
    for line in done.stdout.splitlines():
        match, score = LINE.match(line), SCORE.search(line)
        if match and match["name"] in paths:
            answers[match["name"]] = (
                match["verdict"],
                float(score["score"]) if score else float("nan"),
            )
    for path in paths:
        answers.setdefault(path, ("error", float("inf")))
    return answers


def auroc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """P(a positive scores above a negative): the Mann-Whitney U statistic, ties halved."""
    values = np.concatenate([negatives, positives])
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # tied values share their mean rank
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    u = ranks[len(negatives) :].sum() - len(positives) * (len(positives) + 1) / 2
    return float(u / (len(negatives) * len(positives)))


def timing_12mp(folder: Path) -> tuple[float, float]:
    """Seconds to prepare a 4000x3000 photo (JPEG and PNG): the fastest of three runs."""
    from cnn_numpy import preprocess_digit

    rng = np.random.default_rng(1)
    h, w = 300, 400
    paper = np.full((h, w, 3), linear(0.9), dtype=np.float32)
    paper[120:200, 190:200] = linear(0.15)  # a "1"
    photo = (paper * lamp((h, w), rng, 1.0)[..., None]) ** (1 / 2.2)
    big = np.kron(photo, np.ones((10, 10, 1), dtype=np.float32))
    big = big + rng.normal(0, 0.01, big.shape).astype(np.float32)
    pixels = Image.fromarray(np.round(np.clip(big, 0, 1) * 255).astype(np.uint8))
    times = []
    for suffix in (".jpg", ".png"):
        path = folder / f"phone{suffix}"
        pixels.save(path, quality=90) if suffix == ".jpg" else pixels.save(path)
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            preprocess_digit(path)
            runs.append(time.perf_counter() - start)
        times.append(min(runs))
    return times[0], times[1]


def main(argv=None) -> int:
    args = parse_args(argv)
    check_inputs([args.model], args.data_dir)
    with tempfile.TemporaryDirectory(prefix="cnn-numpy-photos-") as tmp:
        folder = Path(args.keep or tmp)
        digit_sets = [*CONDITIONS, *HELD_OUT]
        jobs = [
            (
                "digits",
                name,
                args.per_condition,
                [args.seed, 1, i],
                args.scale,
                folder,
                args.data_dir,
            )
            for i, name in enumerate(digit_sets)
        ]
        jobs += [
            (
                "non-digits",
                kind,
                args.non_digits,
                [args.seed, 2, i],
                args.scale,
                folder,
                args.data_dir,
            )
            for i, kind in enumerate(NON_DIGITS)
        ]
        jobs.append(("mnist", "mnist28", args.mnist, None, 1.0, folder, args.data_dir))
        start = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            sets = dict(zip([j[1] for j in jobs], pool.map(make_set, jobs)))
            made = time.perf_counter()
            files = [path for items in sets.values() for path, _ in items]
            chunks = [(args.model, files[i : i + 400]) for i in range(0, len(files), 400)]
            answers = {}
            for part in pool.map(predict, chunks):
                answers.update(part)
        print(
            f"{len(files)} images made in {made - start:.0f} s, predicted by the CLI in "
            f"{time.perf_counter() - made:.0f} s\n"
        )
        jpeg_s, png_s = timing_12mp(folder)
    return report(sets, answers, digit_sets, jpeg_s, png_s)


def report(sets, answers, digit_sets, jpeg_s: float, png_s: float) -> int:
    def outcome(items):
        verdicts = [(answers[p][0], label) for p, label in items]
        right = np.mean([v == str(label) for v, label in verdicts])
        refused = np.mean([v.startswith("not a digit") or v == "error" for v, _ in verdicts])
        return right, refused

    missed = []
    print("| photographed digits | photos | right | refused | wrong |")
    print("| --- | ---: | ---: | ---: | ---: |")
    tuned = [n for n in digit_sets if n not in HELD_OUT]
    for name in digit_sets:
        right, refused = outcome(sets[name])
        print(
            f"| {name} | {len(sets[name])} | {right:.1%} | {refused:.1%} | "
            f"{max(0.0, 1 - right - refused):.1%} |"
        )
        if name not in HELD_OUT and right < TARGETS["condition"]:
            missed.append(f"{name}: {right:.1%} right < {TARGETS['condition']:.0%}")
    everything = [item for n in tuned for item in sets[n]]
    right, refused = outcome(everything)
    print(
        f"| **all {len(tuned)} conditions** | {len(everything)} | {right:.1%} | "
        f"{refused:.1%} | {max(0.0, 1 - right - refused):.1%} |"
    )
    if right < TARGETS["photos"]:
        missed.append(f"photos: {right:.1%} right < {TARGETS['photos']:.0%}")
    m_right, m_refused = outcome(sets["mnist28"])
    print(
        f"| MNIST test digits as 28x28 PNGs | {len(sets['mnist28'])} | {m_right:.1%} | "
        f"{m_refused:.1%} | {max(0.0, 1 - m_right - m_refused):.1%} |"
    )
    if m_right < TARGETS["mnist"] or m_refused > TARGETS["mnist_refused"]:
        missed.append(f"MNIST: {m_right:.1%} right, {m_refused:.1%} refused")
    digit_scores = np.array([answers[p][1] for n in tuned for p, _ in sets[n]])
    print("\n| non-digits | photos | refused | no ink found | AUROC of the score |")
    print("| --- | ---: | ---: | ---: | ---: |")
    all_refused = []
    for kind in NON_DIGITS:
        verdicts = [answers[p] for p, _ in sets[kind]]
        refused = [v.startswith("not a digit") or v == "error" for v, _ in verdicts]
        all_refused += refused
        scores = np.array([s for _, s in verdicts])
        print(
            f"| {kind} | {len(verdicts)} | {np.mean(refused):.1%} | "
            f"{np.mean([v == 'error' for v, _ in verdicts]):.1%} | "
            f"{auroc(digit_scores, scores):.3f} |"
        )
        if np.mean(refused) < TARGETS["kind"]:
            missed.append(f"{kind}: {np.mean(refused):.1%} refused < {TARGETS['kind']:.0%}")
    print(f"| **all** | {len(all_refused)} | {np.mean(all_refused):.1%} | | |")
    if np.mean(all_refused) < TARGETS["non_digits"]:
        missed.append(
            f"non-digits: {np.mean(all_refused):.1%} refused < {TARGETS['non_digits']:.0%}"
        )
    print(
        f"\nPreparing a 12-megapixel photo (4000x3000): {jpeg_s:.2f} s as JPEG, "
        f"{png_s:.2f} s as PNG"
    )
    if jpeg_s >= 1.0:
        missed.append(f"12 MP JPEG prepared in {jpeg_s:.2f} s >= 1 s")
    for line in missed:
        print(f"target MISSED: {line}")
    print("all targets met" if not missed else "")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
