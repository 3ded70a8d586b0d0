"""Fooling and adversarial training on MNIST, the tables of docs/why-did-it-say-7.md:

    python benchmarks/adversarial.py --data-dir ../shared/data/mnist --out runs/adversarial

Runs, through the CLI, exactly these (each skipped if its output is already in --out):

    cnn-numpy train --dataset mnist --out OUT/default                       (the default model)
    cnn-numpy train --dataset mnist --adversarial 0.1 --attack fgsm --out OUT/fgsm
    cnn-numpy train --dataset mnist --adversarial 0.1 --attack pgd --attack-steps 3 --epochs 3
        --out OUT/pgd
    cnn-numpy attack OUT/M/model.npz --method fgsm                --out OUT/attack-M-fgsm
    cnn-numpy attack OUT/M/model.npz --method pgd --limit PGD_N   --out OUT/attack-M-pgd

and prints one table: test accuracy per model and attack at eps 0, 0.05, 0.1, 0.2, 0.3
(FGSM on the whole test set, PGD-20 on its first PGD_N images), with each training's time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cnn_numpy.tools.cli import main as cli
from cnn_numpy.tools.cli.common import int_in

TRAININGS = {
    "default": [],
    "fgsm": ["--adversarial", "0.1", "--attack", "fgsm"],
    "pgd": ["--adversarial", "0.1", "--attack", "pgd", "--attack-steps", "3", "--epochs", "3"],
}


def run(args: list[str]) -> float:
    """Run one CLI command; its wall time in seconds (a failure stops the benchmark)."""
    print("$ cnn-numpy " + " ".join(args), flush=True)
    start = time.perf_counter()
    if cli(args) != 0:
        raise SystemExit(f"failed: cnn-numpy {' '.join(args)}")
    return time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="runs/adversarial")
    p.add_argument("--pgd-limit", type=int_in(1), default=1000, help="test images PGD-20 attacks")
    p.add_argument("--models", default="default,fgsm,pgd", help="of " + ",".join(TRAININGS))
    args = p.parse_args(argv)
    unknown = [name for name in args.models.split(",") if name not in TRAININGS]
    if unknown:
        p.error(
            f"--models: no training is called {', '.join(unknown)}; choose from default,fgsm,pgd"
        )
    out, data = Path(args.out), ["--data-dir", args.data_dir] if args.data_dir else []
    rows = []
    for name in args.models.split(","):
        model = out / name / "model.npz"
        seconds = None
        if not model.is_file():
            seconds = run(["train", "--dataset", "mnist", *data, *TRAININGS[name], "--no-report",
                           "--out", str(out / name)])  # fmt: skip
        for method in ("fgsm", "pgd"):
            folder = out / f"attack-{name}-{method}"
            if not (folder / "accuracy.json").is_file():
                limit = ["--limit", str(args.pgd_limit)] if method == "pgd" else []
                run(["attack", str(model), *data, "--method", method, *limit, "--out", str(folder)])
            report = json.loads((folder / "accuracy.json").read_text())
            rows.append((name, report["attack"], report["images"], report["rows"], seconds))
    print(f"\n{'model':<8} {'attack':<7} {'images':>6}  " + "  ".join(
        f"{f'eps {e:g}':>8}" for e in (0, 0.05, 0.1, 0.2, 0.3)) + "  train s")  # fmt: skip
    for name, attack, images, table, seconds in rows:
        cells = "  ".join(f"{r['accuracy']:>8.2%}" for r in table)
        took = "-" if seconds is None else f"{seconds:.0f}"
        print(f"{name:<8} {attack:<7} {images:>6}  {cells}  {took:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
