"""``cnn-numpy attack MODEL``: how little it takes to fool the model.

For each eps (in pixel units, 0-1, converted with the model's normalisation), the test
images are attacked with FGSM or PGD-20 (cnn_numpy.explain) and the accuracy printed as a
table; the folder --out gets accuracy.png (accuracy against eps), examples.png (clean /
adversarial / difference at the largest eps) and accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ...data.atomic import atomic_write_text
from ...train import predict_proba
from ..explain import fgsm, pgd, pixel_units
from ..explain.figures import accuracy_plot, attack_grid, save_figure
from .common import (
    UsageError,
    check_writable,
    int_in,
    load_model,
    normalization,
    output_folder,
    seed,
    writing,
)
from .dataset import DATASET_NAMES, load_data
from .evaluate import check_model_fits, test_source, trained_on

#: PGD's steps; each of 2.5·eps/steps (Madry's rule), from a random start in the ball
PGD_STEPS = 20


def eps_list(text: str) -> list[float]:
    """An argparse type: comma-separated numbers from 0 to 1 (pixel units)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(0 <= v <= 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"must be numbers from 0 to 1 (pixel units) separated by commas, e.g. 0.05,0.1, "
            f"got {text!r}"
        )
    return sorted(set(values))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "attack",
        help="accuracy of a saved model under adversarial attacks (FGSM, PGD)",
        description="Attack the test images with FGSM (one step of eps along the sign of the "
        f"loss's gradient) or PGD-{PGD_STEPS} (steps of 2.5*eps/{PGD_STEPS} from a random "
        "start, kept within eps of the image) and print the accuracy per eps.  eps is in "
        "pixel units: 0-1, before the model file's normalisation (0.1 = a tenth of the "
        "range from black to white).",
    )
    p.add_argument("model", metavar="MODEL", help="a .npz saved by training or by cnn_numpy.save")
    p.add_argument(
        "--dataset",
        choices=DATASET_NAMES,
        default=None,
        help="test set to attack (default: the dataset the model was trained on)",
    )
    p.add_argument("--data-dir", default=None, metavar="DIR", help="as for train")
    p.add_argument("--method", choices=("fgsm", "pgd"), default="fgsm", help="default fgsm")
    p.add_argument(
        "--eps",
        type=eps_list,
        default=[0.05, 0.1, 0.2, 0.3],
        metavar="E1,E2,...",
        help="attack sizes in pixel units, 0-1 before the normalisation (default 0.05,0.1,0.2,0.3)",
    )
    p.add_argument(
        "--limit",
        type=int_in(1, 10_000_000),
        default=None,
        metavar="N",
        help="attack the first N test images only",
    )
    p.add_argument("--seed", type=seed, default=0, help="PGD's random start (default 0)")
    p.add_argument(
        "--out",
        type=output_folder,
        default="attack",
        metavar="DIR",
        help="folder for accuracy.png, examples.png, accuracy.json (default: attack/)",
    )
    p.set_defaults(run=run)


def attacked(model, X, y, eps, stats, method, rng, batch_size=500) -> np.ndarray:
    """The adversarial test images for one eps (pixel units), batch by batch."""
    eps_model, clip = pixel_units(eps, stats)
    out = np.empty_like(X)
    for start in range(0, len(X), batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        if method == "fgsm":
            out[start : start + batch_size] = fgsm(model, xb, yb, eps_model, clip)
        else:
            step = 2.5 * eps_model / PGD_STEPS
            out[start : start + batch_size] = pgd(
                model, xb, yb, eps_model, step, PGD_STEPS, clip, rng=rng
            )
    return out


def predicted(model, X, batch_size=500) -> np.ndarray:
    model.eval()
    return np.concatenate(
        [model.forward(X[s : s + batch_size]).argmax(axis=1) for s in range(0, len(X), batch_size)]
    )


def run(args: argparse.Namespace) -> int:
    model, card = load_model(args.model)
    source = test_source(args, card)
    stats = normalization(card, args.model)
    data = load_data(source, splits=("test",), normalization=stats)
    X, y = data.test
    if args.limit is not None:
        X, y = X[: args.limit], y[: args.limit]
    check_model_fits(model, card, args.model, data)
    if len(y) == 0:
        raise UsageError("no test images to attack")
    check_writable(args.out)
    name = "FGSM" if args.method == "fgsm" else f"PGD-{PGD_STEPS}"
    print(
        f"Model: {args.model} ({trained_on(card)}) | {name} on {len(y)} {source.dataset} "
        f"{images(len(y))}"
    )
    rng = np.random.default_rng(args.seed)
    clean = predicted(model, X)
    rows, examples = [(0.0, float(np.mean(clean == y)), 0.0)], None
    shown_clean = predict_proba(model, X[:6])  # the pictures' six, before any attack
    print(f"{'eps':>6}  {'accuracy':>8}  seconds")
    print(f"{0:>6g}  {rows[0][1]:>8.2%}        -")
    for eps in (e for e in args.eps if e > 0):
        start = time.perf_counter()
        X_adv = attacked(model, X, y, eps, stats, args.method, rng)
        fooled = predicted(model, X_adv)
        rows.append((eps, float(np.mean(fooled == y)), time.perf_counter() - start))
        print(f"{eps:>6g}  {rows[-1][1]:>8.2%}  {rows[-1][2]:7.1f}", flush=True)
        sure = (shown_clean, predict_proba(model, X_adv[:6]))
        examples = (eps, X_adv[:6], fooled[:6], sure)
    write_pictures(Path(args.out), args, name, rows, examples, (X, y, clean), stats, data.classes)
    return 0


def images(n: int) -> str:
    return "test image" if n == 1 else "test images"


def write_pictures(out: Path, args, name, rows, examples, clean, stats, classes) -> None:
    X, y, predicted_clean = clean
    title = f"{name} on {len(y)} {images(len(y))} of {Path(args.model).name}"
    with writing(f"write into {out}"):
        table = [{"eps": e, "accuracy": a, "seconds": round(s, 2)} for e, a, s in rows]
        report = {"model": args.model, "attack": name, "images": len(y), "rows": table}
        atomic_write_text(out / "accuracy.json", json.dumps(report, indent=2) + "\n")
        eps = [r[0] for r in rows]
        save_figure(accuracy_plot(eps, {name: [r[1] for r in rows]}, title), out / "accuracy.png")
        if examples is not None:
            eps_shown, X_adv, fooled, sure = examples
            pixels = lambda a: a * stats["std"] + stats["mean"]  # noqa: E731  back to 0-1
            grid = attack_grid(
                pixels(X[:6]),
                pixels(X_adv),
                y[:6],
                (predicted_clean[:6], fooled),
                classes,
                f"{name}, eps={eps_shown:g} (pixel units)",
                probabilities=sure,
            )
            save_figure(grid, out / "examples.png")
    pictures = [out / "accuracy.png", *([out / "examples.png"] * (examples is not None))]
    print(f"Pictures: {', '.join(map(str, pictures))}; table: {out / 'accuracy.json'}")
    stale = out / "examples.png"
    if examples is None and stale.is_file():  # an earlier run's, beside this run's table
        with writing(f"remove {stale}"):
            stale.unlink()
        print(f"Removed {stale}: it showed an earlier run's attack, and this one has no eps > 0")
