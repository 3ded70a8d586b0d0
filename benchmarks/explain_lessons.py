"""The lessons of docs/why-did-it-say-7.md that are not attacks, measured on a saved model:

    python benchmarks/explain_lessons.py MODEL --data-dir ../shared/data/mnist --out docs/images

1. Integrated gradients' completeness: |Σ attributions − (logit(x) − logit(b))| relative to
   the difference, for 32 and 128 steps (b: a black image), over the first N test images.
2. The sanity check (Adebayo et al. 2018): rank correlation of |saliency| between the model
   and copies re-initialised layer by layer from the top (cascading); why-sanity.png.
3. Class images: gradient ascent on each class's logit; why-class-images.png.

Prints one table per lesson (the numbers in the docs page come from here).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from cnn_numpy.explain import (
    class_image,
    completeness_error,
    integrated_gradients,
    saliency,
    sanity_check,
)

from cnn_numpy.tools.cli.common import CliError, int_in, load_model, normalization
from cnn_numpy.tools.cli.dataset import DataSource, load_data
from cnn_numpy.tools.explain.figures import save_figure
from cnn_numpy.tools.explain.sanity import reinitialise
from cnn_numpy.tools.visualize.figures import hide_ticks, pyplot


def completeness(model, X, black) -> None:
    print(f"Integrated gradients' completeness on {len(X)} test images (baseline: black)")
    print(f"{'steps':>6}  {'median':>8}  {'mean':>8}  {'max':>8}  seconds")
    for steps in (32, 128):
        start = time.perf_counter()
        ig = integrated_gradients(model, X, baseline=black, steps=steps)
        err = completeness_error(model, X, ig, baseline=black)
        seconds = time.perf_counter() - start
        print(
            f"{steps:>6}  {np.median(err):>8.2%}  {err.mean():>8.2%}  {err.max():>8.2%}  {seconds:7.1f}"
        )


def sanity(model, X, out: Path) -> None:
    rows = sanity_check(model, X, rng=0)
    print(
        f"\nSanity check on {len(X)} test images: rank correlation of |saliency| with the "
        "trained model's"
    )
    print(f"{'re-initialised down to layer':<30}  rank correlation")
    for name, r in rows:
        print(f"{name:<30}  {r:>16.3f}")
    # the picture: one image's saliency as the layers are re-initialised from the top
    import copy

    plt = pyplot()
    shown = copy.deepcopy(model)
    rng = np.random.default_rng(0)
    target = np.asarray([int(model.forward(X[:1]).argmax())])
    maps = [("trained", np.abs(saliency(shown, X[:1], target))[0, 0])]
    for index in reversed(range(len(shown.layers))):
        if shown.layers[index].parameters():
            reinitialise(shown.layers[index], rng)
            maps.append((f"down to {index}: {type(shown.layers[index]).__name__}",
                         np.abs(saliency(shown, X[:1], target))[0, 0]))  # fmt: skip
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.2 * (len(maps) + 1), 2.6))
    axes[0].imshow(X[0, 0], cmap="gray")
    axes[0].set_title("input", fontsize=8)
    for ax, (title, heat) in zip(axes[1:], maps):
        ax.imshow(heat, cmap="hot")
        ax.set_title(title, fontsize=8)
    for ax in axes:
        hide_ticks(ax)
    fig.suptitle("Saliency as the weights are re-initialised from the top (Adebayo et al. 2018)",
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    save_figure(fig, out / "why-sanity.png")


def class_images(model, shape, classes, out: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(classes), figsize=(1.3 * len(classes), 1.8))
    start, missed = time.perf_counter(), []
    for k, ax in enumerate(np.atleast_1d(axes)):
        try:
            image = class_image(model, k, shape, rng=k)
        except ValueError as err:  # a weak model: the ascent ends on another class
            missed.append(f"{classes[k]}: {err}")
            ax.set_title(f"{classes[k]}\n(not reached)", fontsize=9)
        else:
            ax.imshow(image[0], cmap="gray")
            ax.set_title(classes[k], fontsize=9)
        hide_ticks(ax)
    fig.suptitle("Class images: gradient ascent on each logit (200 steps)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out / "why-class-images.png")
    reached = len(classes) - len(missed)
    print(
        f"\nClass images: {len(classes)} in {time.perf_counter() - start:.1f} s, {reached} "
        "predicted as their class" + "".join(f"\n  not reached, {line}" for line in missed)
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--images", type=int_in(1), default=100, help="test images to measure on")
    p.add_argument("--out", default=".", help="folder for the pictures")
    args = p.parse_args(argv)
    try:  # a wrong path or a foreign file: the library's message, in one line
        model, card = load_model(args.model)
        stats = normalization(card, args.model)
        source = DataSource(card.get("dataset", "mnist"), args.data_dir)
        data = load_data(source, splits=("test",), normalization=stats, download=False)
    except (OSError, ValueError, CliError) as err:
        raise SystemExit(f"error: {err}") from None
    model.eval()
    X = data.test[0][: args.images]
    black = np.full_like(X, (0 - stats["mean"]) / stats["std"])
    out = Path(args.out)
    completeness(model, X, black)
    sanity(model, X, out)
    class_images(model, X.shape[1:], list(data.classes), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
