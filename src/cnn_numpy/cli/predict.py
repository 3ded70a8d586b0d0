"""``cnn-numpy predict MODEL IMAGE...``: classify your own drawings or photos.

Each image goes through MNIST's preprocessing (``cnn_numpy.data.images``) and the training
run's normalisation before the model sees it; ``--show`` draws every step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..data import normalize
from ..data.images import Preprocessed, preprocess_digit
from ..train import predict_proba
from .common import (
    CliError,
    class_names,
    error_message,
    int_in,
    load_model,
    normalization,
    output_file,
    print_error,
    probability,
    writing,
)

#: the input predict prepares: one grayscale 28x28 image, as MNIST
INPUT_SHAPE = (1, 28, 28)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="classify your own images (PNG/JPEG) with a saved model",
        description="Read each image, prepare it like MNIST (grayscale, white ink on black, "
                    "cropped, scaled to fit 20x20, centred by its centre of mass in 28x28, "
                    "normalised as in training) and print the top classes with probabilities.")
    p.add_argument("model", metavar="MODEL", help="a .npz saved by training or by cnn_numpy.save")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files")
    p.add_argument("--top", type=int_in(1, 1000), default=3,
                   help="how many classes to list (default 3)")
    p.add_argument("--min-confidence", type=probability, default=0.5, metavar="P",
                   help="below this top probability, from 0 to 1, the answer is 'not sure' "
                        "(default 0.5)")
    p.add_argument("--show", type=output_file, default=None, metavar="OUT.png",
                   help="save a figure of the preprocessing steps, the probabilities and the "
                        "first feature maps (OUT-1.png, OUT-2.png, ... for several images)")
    p.set_defaults(run=run)


def check_input_shape(model, card: dict, path: str) -> None:
    """A ``CliError`` if the model was not made for 1x28x28 inputs."""
    expected = card.get("input_shape")
    if expected is None:   # saved without a card: ask the layers whether 1x28x28 fits
        try:
            model.output_shape((1, *INPUT_SHAPE))
            return
        except ValueError as err:
            raise CliError(f"{path} does not take 1x28x28 images: {err}") from err
    if tuple(expected) != INPUT_SHAPE:
        raise CliError(f"{path} was trained on {'x'.join(map(str, expected))} images (channels "
                       f"x height x width); predict prepares 1x28x28 grayscale images like "
                       f"MNIST's. Use a model trained on mnist, fashion-mnist or lines.")


def format_prediction(name: str, probabilities: np.ndarray, classes, top: int,
                      min_confidence: float) -> str:
    order = np.argsort(probabilities)[::-1][:top]
    best = order[0]
    listing = " | ".join(f"{classes[k]} {probabilities[k]:6.1%}" for k in order)
    if probabilities[best] < min_confidence:
        verdict = f"not sure (best guess {classes[best]})"
    else:
        verdict = f"{classes[best]}"
    return f"{name}: {verdict}    top {len(order)}: {listing}"


def figure_path(out: str, index: int, count: int) -> Path:
    out = Path(out)
    return out if count == 1 else out.with_name(f"{out.stem}-{index}{out.suffix or '.png'}")


def show(path: Path, name: str, steps: Preprocessed, x: np.ndarray, probabilities: np.ndarray,
         classes, model) -> None:
    """Save one figure: the preprocessing steps, the probabilities, the first feature maps."""
    import matplotlib

    matplotlib.use("Agg")   # the CLI only writes files
    import matplotlib.pyplot as plt

    from ..visualize.inside import feature_maps

    fig = plt.figure(figsize=(12, 6.5))
    grid = fig.add_gridspec(3, 10, hspace=0.5, wspace=0.4)
    panels = [(steps.gray, "your image"),
              (steps.ink, "ink" + (" (inverted)" if steps.inverted else "")),
              (steps.cropped, f"cropped {steps.cropped.shape[0]}x{steps.cropped.shape[1]}"),
              (steps.scaled, f"fit in 20x20: {steps.scaled.shape[0]}x{steps.scaled.shape[1]}"),
              (steps.image, "28x28, centred")]
    for k, (image, title) in enumerate(panels):
        ax = fig.add_subplot(grid[0, 2 * k : 2 * k + 2])
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    bars = fig.add_subplot(grid[1:, 0:4])
    positions = np.arange(len(classes))
    bars.barh(positions, probabilities, color="tab:blue")
    bars.set_yticks(positions, [str(c) for c in classes], fontsize=8)
    bars.invert_yaxis()
    bars.set_xlim(0, 1)
    bars.set_xlabel("probability")
    stages = feature_maps(model, x)
    if stages:
        label, maps = next(((lb, m) for lb, m in stages if "ReLU" in lb), stages[0])
        for c in range(min(12, maps.shape[0])):
            ax = fig.add_subplot(grid[1 + c // 6, 4 + c % 6])
            ax.imshow(maps[c], cmap="viridis", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_title(f"feature maps after layer {label}", fontsize=9, loc="left")
    fig.suptitle(f"{name}: {classes[int(np.argmax(probabilities))]} "
                 f"({probabilities.max():.1%})", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    model, card = load_model(args.model)
    check_input_shape(model, card, args.model)
    classes = class_names(card, model.output_shape((1, *INPUT_SHAPE))[-1], args.model)
    stats = normalization(card, args.model)                   # as in training
    if card.get("dataset") == "fashion-mnist":
        print("note: predict prepares images the way MNIST digits were made (ink fitted in "
              "20x20); Fashion-MNIST photos filled the whole 28x28, so expect weaker guesses")
    status = 0
    for index, name in enumerate(args.images, 1):
        try:
            steps = preprocess_digit(name)
        except (OSError, ValueError) as err:      # one unreadable image: say so, go on
            print_error(f"{name}: {error_message(err)}")
            status = 1
            continue
        x = normalize(steps.image, stats["mean"], stats["std"])[None, None]   # (1, 1, 28, 28)
        probabilities = predict_proba(model, x)[0]
        print(format_prediction(name, probabilities, classes, args.top, args.min_confidence))
        if args.show:
            out = figure_path(args.show, index, len(args.images))
            with writing(f"write the figure {out}"):
                show(out, name, steps, x, probabilities, classes, model)
            print(f"  figure: {out}")
    return status
