"""Every experiment of docs/08-tweak-me.md, run with the CLI's defaults, printed as tables.

    python benchmarks/tweak_me.py --data-dir ../shared/data            # lines, then MNIST
    python benchmarks/tweak_me.py --section lines                      # the lines only
    python benchmarks/tweak_me.py --section mnist --data-dir ../shared/data
    python benchmarks/tweak_me.py --only baseline lr-0.5               # some experiments

Each experiment is one ``cnn-numpy train --quiet --no-report FLAGS`` (the page's command,
run in this process, into a temporary run folder); its numbers come from the run's
history.json and saved model. Per run it prints the parameters, the shape before Flatten,
how many first-layer filters fire (a ReLU output above 0) on some test image, the loss,
train and test accuracy after every epoch, and the training time: wall seconds (the sum of
the epochs' seconds, test evaluation included) and CPU seconds of the whole command (loading,
training, the novelty check, saving; this process and its worker processes). The header
names the CPU and the load average, since wall times on a shared machine are inflated; the
losses and accuracies are the same on any machine for the same seed (up to the last digit).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import numpy as np

from cnn_numpy.layers import Conv2d, Flatten, ReLU
from cnn_numpy.tools.cli import main as cli_main
from cnn_numpy.tools.cli.dataset import DataSource, load_data
from cnn_numpy.tools.saving.model_files import load
from cnn_numpy.tools.saving.run_folder import load_history


@dataclass(frozen=True)
class Experiment:
    name: str
    flags: tuple[str, ...]
    section: str  # "lines" or "mnist"


def lines(name: str, *flags: str) -> Experiment:
    return Experiment(name, flags, "lines")


def mnist(name: str, *flags: str, subset: bool = True) -> Experiment:
    """``--limit`` after ``--model``, as the page writes it; ``{limit}`` is --limit's value."""
    model = flags[:2] if flags[:1] == ("--model",) else ()
    limit = ("--limit", "{limit}") if subset else ()
    return Experiment(name, ("--dataset", "mnist", *model, *limit, *flags[len(model) :]), "mnist")


#: the page's experiments, in its order
EXPERIMENTS = (
    lines("baseline"),
    lines("baseline-again"),  # the same seed twice: identical output
    lines("filters-16", "--filters", "16"),
    lines("filters-32", "--filters", "32"),
    lines("epochs-1", "--epochs", "1"),
    lines("epochs-10", "--epochs", "10"),
    lines("lr-0.005", "--lr", "0.005"),
    lines("lr-0.02", "--lr", "0.02"),
    lines("lr-0.1", "--lr", "0.1"),
    lines("lr-0.5", "--lr", "0.5"),
    lines("noise-0.15", "--noise", "0.15"),
    lines("noise-0.3", "--noise", "0.3"),
    lines("noise-0.5", "--noise", "0.5", "--epochs", "10"),
    lines("blocks-2", "--blocks", "2"),
    lines("blocks-3", "--blocks", "3"),
    lines("batch-8", "--batch-size", "8"),
    lines("batch-32", "--batch-size", "32"),
    lines("batch-32-lr-0.1", "--batch-size", "32", "--lr", "0.1"),
    lines("batch-32-momentum", "--batch-size", "32", "--lr", "0.05", "--momentum", "0.9"),
    lines("adam", "--optimizer", "adam", "--lr", "0.001", "--batch-size", "16"),
    lines("seed-1", "--seed", "1"),
    mnist("seed-net", "--model", "seed"),
    mnist("seed-filters-16", "--model", "seed", "--filters", "16"),
    mnist("seed-filters-32", "--model", "seed", "--filters", "32"),
    mnist("seed-blocks-2", "--model", "seed", "--blocks", "2"),
    mnist("seed-batch-8", "--model", "seed", "--batch-size", "8"),
    mnist("seed-sgd", "--model", "seed", "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0"),
    mnist(
        "seed-momentum",
        "--model",
        "seed",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--momentum",
        "0.9",
    ),
    mnist("lenet-batch-32", "--batch-size", "32", "--workers", "1"),
    mnist("lenet"),
    mnist("seed-net-all", "--model", "seed", subset=False),
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--section", choices=["all", "lines", "mnist"], default="all")
    p.add_argument("--only", nargs="+", metavar="NAME", help="experiments by name (globs)")
    p.add_argument("--data-dir", metavar="DIR", help="MNIST's folder or its parent")
    p.add_argument(
        "--limit",
        type=int,
        default=5000,
        help="training images of the MNIST subset runs (default 5000, as on the page)",
    )
    p.add_argument("--list", action="store_true", help="list the experiments and stop")
    args = p.parse_args(argv)
    if args.limit < 1:
        p.error(f"--limit must be at least 1, got {args.limit}")
    return args


def chosen(args) -> list[Experiment]:
    picked = [e for e in EXPERIMENTS if args.section in ("all", e.section)]
    if args.only:
        unknown = [p for p in args.only if not any(fnmatch(e.name, p) for e in EXPERIMENTS)]
        if unknown:
            raise SystemExit(f"error: no experiment is called {', '.join(unknown)} (see --list)")
        picked = [e for e in picked if any(fnmatch(e.name, p) for p in args.only)]
        if not picked:  # every name is of the other section: an empty table would say nothing
            raise SystemExit(
                f"error: no experiment of --section {args.section} is called "
                f"{', '.join(args.only)} (see --list)"
            )
    return picked


def command(e: Experiment, limit: int) -> list[str]:
    return [flag.format(limit=limit) for flag in e.flags]


def cpu_name() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if "model name" in ln), ""
    )
    family = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if "cpu family" in ln), ""
    )
    number = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model\t")), ""
    )
    avx512 = "AVX-512" if "avx512f" in info else "no AVX-512"
    return f"{model} (family {family} model {number}, {avx512}), {os.cpu_count()} cores"


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def shape_before_flatten(model, x: np.ndarray) -> tuple[int, ...]:
    for layer in model:
        if isinstance(layer, Flatten):
            return x.shape[1:]
        x = layer.forward(x)
    return x.shape[1:]


def filters_firing(model, images: np.ndarray) -> str:
    """How many channels of the first Conv2d -> ReLU are above 0 for some image."""
    layers = list(model)
    first = next(i for i, layer in enumerate(layers) if isinstance(layer, Conv2d))
    relu = next(i for i in range(first, len(layers)) if isinstance(layers[i], ReLU))
    x = images
    for layer in layers[: relu + 1]:
        x = layer.forward(x)
    fire = (x > 0).any(axis=(0, 2, 3))
    return f"{int(fire.sum())} of {fire.size}"


def run(e: Experiment, args, folder: Path) -> dict:
    out = folder / e.name
    flags = ["train", "--quiet", "--no-report", "--out", str(out), *command(e, args.limit)]
    if e.section == "mnist" and args.data_dir is not None:
        flags += ["--data-dir", args.data_dir]
    before = cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = cli_main(flags)
    if code != 0:
        raise SystemExit(f"error: {e.name} failed (exit {code}):\n{printed.getvalue()}")
    cpu = cpu_seconds() - before
    history = load_history(out)
    model = load(out / "model.npz").eval()
    test_images = None
    if e.section == "lines":
        config = json.loads((out / "config.json").read_text())
        source = DataSource.from_settings(config, str(out / "config.json"))
        test_images = load_data(source, ("test",)).test[0]
    sample = test_images[:1] if test_images is not None else np.zeros((1, 1, 28, 28), "float32")
    return {
        "history": history,
        "parameters": sum(p.data.size for _, p in model.named_parameters()),
        "before_flatten": "x".join(map(str, shape_before_flatten(model, sample))),
        "firing": filters_firing(model, test_images) if test_images is not None else "",
        "wall": float(sum(history.seconds)),
        "cpu": cpu,
    }


def row(e: Experiment, r: dict, limit: int) -> str:
    h = r["history"]
    loss = ", ".join(f"{v:.4f}" for v in h.loss)
    train = ", ".join(f"{v:.3f}" for v in h.train_acc)
    test = ", ".join(f"{v:.3f}" for v in h.test_acc)
    flags = " ".join(command(e, limit)) or "(none)"
    return (
        f"| {e.name} | `{flags}` | {r['parameters']:,} | {r['before_flatten']} | {r['firing']} | "
        f"{loss} | {train} | {test} | {r['wall']:.1f} | {r['cpu']:.1f} |"
    )


HEADER = (
    "| experiment | flags | parameters | before Flatten | filters firing | loss per epoch | "
    "train acc per epoch | test acc per epoch | wall s | CPU s |\n"
    "| --- | --- | ---: | --- | --- | --- | --- | --- | ---: | ---: |"
)


def same_run(a: dict, b: dict, epochs: int | None = None) -> bool:
    ha, hb = a["history"], b["history"]
    n = epochs or max(len(ha.loss), len(hb.loss))
    return all(
        list(getattr(ha, k))[:n] == list(getattr(hb, k))[:n]
        for k in ("loss", "train_acc", "test_acc")
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    picked = chosen(args)
    if args.list:
        for e in picked:
            print(f"{e.name:20} {e.section:6} cnn-numpy train {' '.join(command(e, args.limit))}")
        return 0
    print(f"CPU: {cpu_name()}; numpy {np.__version__}; python {platform.python_version()}")
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cnn-numpy-tweak-me-") as tmp:
        for section in ("lines", "mnist"):
            todo = [e for e in picked if e.section == section]
            if not todo:
                continue
            print(f"\n{section}\n{HEADER}")
            for e in todo:
                results[e.name] = run(e, args, Path(tmp))
                print(row(e, results[e.name], args.limit), flush=True)
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    base = results.get("baseline")
    for name, epochs, what in (
        ("baseline-again", None, "the same seed twice gives the same numbers"),
        ("epochs-10", 5, "--epochs 10 repeats the baseline's 5 epochs first"),
    ):
        if base is not None and name in results:
            verdict = "yes" if same_run(base, results[name], epochs) else "NO"
            print(f"{what}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
