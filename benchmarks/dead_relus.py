"""How many ReLU units a healthy net has that never fire: what ``diagnose``'s dead_relu check
measures, on the presets with ``cnn-numpy train``'s defaults, at initialisation and after
training, beside two bugs that kill units.

    python benchmarks/dead_relus.py                                     # the lines only
    python benchmarks/dead_relus.py --data-dir ../shared/data --limit 2000 --epochs 1
    python benchmarks/dead_relus.py --models lenet --datasets lines --seeds 0,1,2,3

Each row: the setup, when it was measured (init, or after --epochs epochs of ``fit`` with the
default optimizer, learning rate and batch size of ``train``, without its schedule), its test
accuracy, the worst layer's share of dead units, the status the check gives, and each ReLU
layer's units never active on the doctor's probe batch (dead / units).  For the first seed
also two bugs: the first biases at -20, and the learning rate 10x too high.  The lines take
a minute or two; MNIST (--data-dir) minutes more.
"""

from __future__ import annotations

import argparse
import time

from cnn_numpy import CrossEntropyLoss, diagnose, evaluate, fit
from cnn_numpy.tools.cli.common import int_in
from cnn_numpy.tools.cli.dataset import load_data
from cnn_numpy.tools.cli.settings import resolve_defaults
from cnn_numpy.tools.cli.training import build_model, build_optimizer


def setup(model: str, dataset: str, data_dir: str | None, limit: int | None, seed: int):
    """The model, optimizer and settings ``cnn-numpy train --model M --dataset D`` builds."""
    flags = dict(model=model, dataset=dataset, data_dir=data_dir, limit=limit, seed=seed)
    settings = resolve_defaults(argparse.Namespace(**flags))
    data = load_data(settings.data_source(), download=False)
    net = build_model(settings, len(data.classes), data.image_shape)
    return net, build_optimizer(settings, net.parameters()), settings, data


def dead_layers(net, optimizer, data, batch_size: int, seed: int) -> tuple[str, list[dict]]:
    """The dead_relu finding's status and its per-layer counts."""
    found = diagnose(
        net,
        CrossEntropyLoss(),
        data.train,
        optimizer,
        batch_size=batch_size,
        checks=["dead_relu"],
        rng=seed,
    )
    return found["dead_relu"].status, found["dead_relu"].data["layers"]


def row(name: str, when: str, acc: float | None, status: str, layers: list[dict]) -> str:
    counts = "  ".join(f"{d['label'].split(':')[0]}:{d['dead']}/{d['units']}" for d in layers)
    worst = max((d["dead"] / d["units"] for d in layers), default=0.0)
    accuracy = "  -  " if acc is None else f"{acc:.3f}"
    return f"{name:<22} {when:<9} {accuracy:>6} {worst:>5.0%} {status:<5} {counts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (else lines only)")
    parser.add_argument("--limit", type=int_in(1), default=2000, help="MNIST training images")
    parser.add_argument("--epochs", type=int_in(1), default=None, help="(default: train's)")
    parser.add_argument("--models", default="seed,lenet,resnet")
    parser.add_argument(
        "--datasets", default=None, help="(default: lines, and mnist with --data-dir)"
    )
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    datasets = (args.datasets or ("lines,mnist" if args.data_dir else "lines")).split(",")
    if "mnist" in datasets and args.data_dir is None:
        parser.error("mnist needs --data-dir (the folder that holds mnist/)")
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{'setup':<22} {'when':<9} {'test':>6} {'worst':>5} check per layer: dead/units")
    for dataset in datasets:
        folder = None if dataset == "lines" else f"{args.data_dir}/{dataset}"
        limit = None if dataset == "lines" else args.limit
        for model in args.models.split(","):
            for seed in seeds:
                start = time.perf_counter()
                measure(model, dataset, folder, limit, seed, args.epochs, bugs=seed == seeds[0])
                print(f"{'':<22} ({time.perf_counter() - start:.0f} s)", flush=True)


def measure(model, dataset, folder, limit, seed, epochs, bugs: bool) -> None:
    """The rows of one setup: at init, after training; with ``bugs``, the planted bias and
    the learning rate 10x too high (trained as long)."""
    net, opt, settings, data = setup(model, dataset, folder, limit, seed)
    name, bs, epochs = f"{model} {dataset} s{seed}", settings.batch_size, epochs or settings.epochs
    print(row(name, "init", None, *dead_layers(net, opt, data, bs, seed)), flush=True)
    fit(net, CrossEntropyLoss(), opt, data.train, epochs, bs, rng=seed, callbacks=[])
    acc = evaluate(net, *data.test)
    print(row(name, f"{epochs} ep", acc, *dead_layers(net, opt, data, bs, seed)), flush=True)
    if not bugs:
        return
    net, opt, *_ = setup(model, dataset, folder, limit, seed)
    first = next(layer for layer in net if getattr(layer, "bias", None))
    first.bias.data[...] = -20  # resnet: its stem conv has none, its BatchNorm's shift
    status, layers = dead_layers(net, opt, data, bs, seed)
    print(row(f"{model} {dataset} bias -20", "init", None, status, layers), flush=True)
    net, opt, *_ = setup(model, dataset, folder, limit, seed)
    opt.lr *= 10
    fit(net, CrossEntropyLoss(), opt, data.train, epochs, bs, rng=seed, callbacks=[])
    acc = evaluate(net, *data.test)
    status, layers = dead_layers(net, opt, data, bs, seed)
    print(row(f"{model} {dataset} lr x10", f"{epochs} ep", acc, status, layers), flush=True)


if __name__ == "__main__":
    main()
