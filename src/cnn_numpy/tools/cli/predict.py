"""``cnn-numpy predict MODEL IMAGE...``: classify your own drawings or photos (or every
image in a folder, in name order).

Each image is prepared like MNIST (``cnn_numpy.tools.photos.images``: lighting, sheet, ink, then
MNIST's steps) and normalised as in training before the model sees it; the model file's
novelty check answers "not a digit" for what is unlike every training image; ``--show``
draws every step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ...data import normalize
from ..explain.figures import save_figure
from ..novelty import predict_with_novelty
from ..photos.colour import prepare_colour
from ..photos.fashion import FashionSteps, prepare_fashion
from ..photos.images import Preprocessed, preprocess_digit
from .common import (
    CliError,
    class_names,
    error_message,
    figure_file,
    int_in,
    load_model,
    normalization,
    print_error,
    probability,
    refuse_overwriting,
    writing,
)
from .novelty_check import load_check, refusal_words, score_text

#: the input predict prepares: one grayscale 28x28 image, as MNIST
INPUT_SHAPE = (1, 28, 28)
#: the files a folder given to predict is read for (what Pillow opens), by suffix
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="classify your own images (PNG/JPEG) with a saved model",
        description="Read each image (a photo of paper, a scan, a drawing), prepare it like "
        "MNIST (uneven light divided out, the sheet and the ink found, white ink on "
        "black, cropped, scaled to fit 20x20, centred by its centre of mass in "
        "28x28, normalised as in training; for a colour model such as CIFAR-10's: the "
        "photo's centre, scaled to 32x32) and print the top classes with "
        "probabilities, or 'not a digit' when the model's novelty check finds the "
        "image unlike every training image.",
    )
    p.add_argument("model", metavar="MODEL", help="a .npz saved by training or by cnn_numpy.save")
    p.add_argument(
        "images",
        metavar="IMAGE",
        nargs="+",
        help="PNG or JPEG files, or folders of them (every image in a folder, in name order)",
    )
    p.add_argument(
        "--top", type=int_in(1, 1000), default=3, help="how many classes to list (default 3)"
    )
    p.add_argument(
        "--min-confidence",
        type=probability,
        default=0.5,
        metavar="P",
        help="below this top probability, from 0 to 1, the answer is 'not sure' (default 0.5)",
    )
    p.add_argument(
        "--show",
        type=figure_file,
        default=None,
        metavar="OUT.png",
        help="save a figure of every preparation step (the lighting correction "
        "too), the probabilities and the first feature maps (OUT-1.png, "
        "OUT-2.png, ... for several images); grey models only (for a colour model, "
        "cnn-numpy explain draws its input and why)",
    )
    p.set_defaults(run=run)


def image_files(names: list[str]) -> list[str]:
    """The images to predict: each name given, a folder replaced by its image files in name
    order (its other files skipped with a note); a folder without images is a ``CliError``."""
    images = []
    for name in names:
        folder = Path(name)
        if not folder.is_dir():
            images.append(name)  # a file (or a missing one: its own error, in turn)
            continue
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        found = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        if not found:
            raise CliError(
                f"{folder} has no image files ({', '.join(IMAGE_SUFFIXES)}); give images, "
                "or a folder of them"
            )
        skipped = [p.name + ("/" if p.is_dir() else "") for p in entries if p not in found]
        if skipped:
            print(
                f"note: {folder}: {len(skipped)} {'entry is' if len(skipped) == 1 else 'entries are'}"
                f" not an image and skipped: {', '.join(skipped[:8])}"
                + (", ..." if len(skipped) > 8 else "")
            )
        images += [str(p) for p in found]
    return images


def refuse_figures_among_images(figures, names: list[str], flag: str, example: str) -> None:
    """A ``CliError`` if a figure would be written into a folder the command reads images
    from: the next run of the same command would read it as one more image."""
    for name in names:
        if Path(name).is_dir() and Path(name).resolve() in {
            Path(f).resolve().parent for f in figures
        }:
            raise CliError(
                f"{flag} would write figures into {name}, a folder this command reads "
                f"images from, and the next run would read them as images. Choose a name "
                f"outside it, e.g. {example}"
            )


def check_input_shape(model, card: dict, path: str, colour: bool = False) -> None:
    """A ``CliError`` if the model was not made for 1x28x28 inputs (or, with ``colour``,
    for 3xHxW colour images either, as CIFAR-10's 3x32x32)."""
    expected = card.get("input_shape")
    if expected is None:  # saved without a card: ask the layers whether 1x28x28 fits
        try:
            model.output_shape((1, *INPUT_SHAPE))
            return
        except ValueError as err:
            raise CliError(f"{path} does not take 1x28x28 images: {err}") from err
    if tuple(expected) != INPUT_SHAPE and not (colour and expected[0] == 3):
        also = " or 3xHxW colour images" if colour else ""
        raise CliError(
            f"{path} was trained on {'x'.join(map(str, expected))} images (channels "
            f"x height x width); predict prepares 1x28x28 grayscale images like "
            f"MNIST's{also}. Use a model trained on mnist, fashion-mnist or lines"
            f"{' (or cifar10)' if colour else ''}."
        )


def prepared_input(name: str, shape: tuple[int, ...], stats: dict, dataset=None) -> tuple:
    """One image file as the model gets it: ``(steps, x)``, ``steps`` the preparation's steps
    (a digit's; an article's for a Fashion-MNIST model, ``prepare_fashion``; None for a colour
    model: the photo's centre, scaled, ``prepare_colour``) and ``x`` normalised as in training.

    Shape: -> x (1, C, H, W)
    """
    if shape[0] == 3:
        image = prepare_colour(name, *shape[1:])  # (3, H, W)
        return None, normalize(image, stats["mean"], stats["std"])[None]
    if dataset == "fashion-mnist":  # the article fills the field, light on black
        steps = prepare_fashion(name, shape[1])
        return steps, normalize(steps.image, stats["mean"], stats["std"])[None, None]
    steps = preprocess_digit(name)
    return steps, normalize(steps.image, stats["mean"], stats["std"])[None, None]


def format_prediction(
    name: str,
    probabilities: np.ndarray,
    classes,
    top: int,
    min_confidence: float,
    score: float | None = None,
    threshold: float | None = None,
    refusal: str | None = None,
) -> str:
    """One line per image; ``refusal`` ("not a digit") when the novelty check refused it."""
    order = np.argsort(probabilities)[::-1][:top]
    best = order[0]
    listing = " | ".join(f"{classes[k]} {percent(probabilities[k])}" for k in order)
    if refusal is not None:
        return f"{name}: {refusal} (novelty {score_text(score)} > {score_text(threshold)})    closest: {listing}"
    if probabilities[best] < min_confidence:
        verdict = f"not sure (best guess {classes[best]})"
    else:
        verdict = f"{classes[best]}"
    novelty = (
        ""
        if score is None
        else (f"    novelty {score_text(score)} (refused above {score_text(threshold)})")
    )
    return f"{name}: {verdict}    top {len(order)}: {listing}{novelty}"


def percent(p: float) -> str:
    """A probability as 6 characters, ' 97.3%'; one under 1 that would round to 100.0% is
    '>99.9%', so that "not sure" (below --min-confidence 1) never stands beside 100.0%."""
    return ">99.9%" if 0.9995 <= p < 1 else f"{p:6.1%}"


def figure_path(out: str, index: int, count: int) -> Path:
    out = Path(out)
    return out if count == 1 else out.with_name(f"{out.stem}-{index}{out.suffix or '.png'}")


def show(
    path: Path,
    title: str,
    steps: Preprocessed | FashionSteps,
    x: np.ndarray,
    probabilities: np.ndarray,
    classes,
    model,
) -> None:
    """Save one figure: every preparation step, the probabilities, the first feature maps."""
    import matplotlib

    matplotlib.use("Agg")  # the CLI only writes files
    import matplotlib.pyplot as plt

    from ..visualize.inside import feature_maps
    from ..visualize.preparation import draw_panels

    fig = plt.figure(figsize=(12, 9.5))
    grid = fig.add_gridspec(4, 12, hspace=0.45, wspace=0.4)
    draw_panels(
        [fig.add_subplot(grid[r, 3 * c : 3 * c + 3]) for r in (0, 1) for c in range(4)], steps
    )
    bars = fig.add_subplot(grid[2:, 0:4])
    positions = np.arange(len(classes))
    bars.barh(positions, probabilities, color="tab:blue")
    bars.set_yticks(positions, [str(c) for c in classes], fontsize=8)
    bars.invert_yaxis()
    bars.set_xlim(0, 1)
    bars.set_xlabel("probability")
    stages = feature_maps(model, x)
    if stages:
        label, maps = next(((lb, m) for lb, m in stages if "ReLU" in lb), stages[0])
        for c in range(min(16, maps.shape[0])):
            ax = fig.add_subplot(grid[2 + c // 8, 4 + c % 8])
            ax.imshow(maps[c], cmap="viridis", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_title(f"feature maps after layer {label}", fontsize=9, loc="left")
    fig.suptitle(title, fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)  # atomic, in the format the name asks for; closes the figure


def run(args: argparse.Namespace) -> int:
    images = image_files(args.images)  # a folder: its images, in name order
    if args.show:  # no figure may replace a photo or the model
        figures = [figure_path(args.show, i, len(images)) for i in range(1, len(images) + 1)]
        refuse_overwriting(figures, [*images, args.model], example="steps.png")
        refuse_figures_among_images(figures, args.images, f"--show {args.show}", "steps.png")
    model, card = load_model(args.model)
    check_input_shape(model, card, args.model, colour=True)
    shape = tuple(card.get("input_shape") or INPUT_SHAPE)
    if shape[0] == 3 and args.show:
        raise CliError(
            "--show draws a digit's preparation steps; it is for grey models only (for a "
            f"colour model, cnn-numpy explain {args.model} IMAGE draws its input and why)"
        )
    classes = class_names(card, model.output_shape((1, *shape))[-1], args.model)
    stats = normalization(card, args.model)  # as in training
    if card.get("dataset") == "fashion-mnist":
        print(
            "note: each photo is prepared as Fashion-MNIST's were: trimmed to the article, "
            "its longer side scaled to 28, negated (light on black); one article on a plain "
            "light ground works best"
        )
    novelty = load_check(args.model)  # None: a note says so
    status = 0
    for index, name in enumerate(images, 1):
        try:
            steps, x = prepared_input(name, shape, stats, card.get("dataset"))  # (1, C, H, W)
        except (OSError, ValueError) as err:  # one unreadable image: say so, go on
            message = error_message(err)  # most name the file already: not twice
            print_error(message if str(name) in message else f"{name}: {message}")
            status = 1
            continue
        answer = predict_with_novelty(model, x, novelty)
        probabilities, score = answer.probabilities[0], answer.scores[0]
        line = format_prediction(
            name,
            probabilities,
            classes,
            args.top,
            args.min_confidence,
            None if novelty is None else score,
            answer.threshold,
            refusal_words(card) if answer.refused[0] else None,
        )
        print(line)
        if args.show:
            out = figure_path(args.show, index, len(images))
            with writing(f"write the figure {out}"):
                show(out, line.split("    ")[0], steps, x, probabilities, classes, model)
            print(f"  figure: {out}")
    return status
