"""``cnn-numpy explain MODEL IMAGE...``: why the model said what it said.

Each image takes ``predict``'s photo path (prepared like MNIST, or for a colour model such
as CIFAR-10's the photo's centre scaled to its size; normalised as in training; "not a
digit" from the novelty check), then one figure: the prepared input and each map of
``cnn_numpy.explain`` as a heat map over it, with the prediction and its probability.
Occlusion fills with black paper and integrated gradients start from a black image (pixel 0,
in the model's units), not from 0 of the standardised input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..explain import grad_cam, integrated_gradients, occlusion, saliency
from ..explain.figures import heat_maps, save_figure
from ..explain.gradcam import layer_index, map_layer
from ..novelty import predict_with_novelty
from .common import (
    CliError,
    class_names,
    error_message,
    figure_file,
    int_in,
    load_model,
    normalization,
    print_error,
    refuse_overwriting,
    writing,
)
from .novelty_check import load_check, refusal_words
from .predict import (
    INPUT_SHAPE,
    check_input_shape,
    figure_path,
    image_files,
    prepared_input,
    refuse_figures_among_images,
)

METHODS = ("saliency", "gradcam", "occlusion", "ig")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "explain",
        help="why a saved model classified your images so: saliency, Grad-CAM, occlusion, "
        "integrated gradients",
        description="Prepare each image as predict does, then draw the input and each "
        "explanation as a heat map over it: saliency (|d logit / d pixel|), Grad-CAM (at "
        "the last convolutional stage), occlusion (how much hiding each 4x4 square drops "
        "the probability) and integrated gradients (32 steps from a black image).",
    )
    p.add_argument("model", metavar="MODEL", help="a .npz saved by training or by cnn_numpy.save")
    p.add_argument(
        "images", metavar="IMAGE", nargs="+", help="PNG or JPEG files, or a folder of them"
    )
    p.add_argument(
        "--method",
        choices=(*METHODS, "all"),
        default="all",
        help="which explanation to draw (default: all four)",
    )
    p.add_argument(
        "--target",
        type=int_in(0, 100_000),
        default=None,
        metavar="CLASS",
        help="explain this class's score (its index) instead of the predicted class",
    )
    p.add_argument(
        "--out",
        type=figure_file,
        default=None,
        metavar="FILE.png",
        help="the figure, in the format its suffix names (.png, .pdf, .svg, ...; "
        "FILE-1.png, FILE-2.png, ... for several images; default: IMAGE-why.png in the "
        "current folder, IMAGE-why-2.png for a second image of that name)",
    )
    p.set_defaults(run=run)


def explanation_maps(model, x, target, methods, stats) -> dict[str, np.ndarray]:
    """Each method's map for one prepared input x (1, C, H, W), in the model's units."""
    black = (0.0 - stats["mean"]) / stats["std"]  # pixel 0 as the model sees it
    maps = {}
    for method in methods:
        if method == "saliency":
            maps[method] = np.abs(saliency(model, x, target)).max(axis=1)[0]
        elif method == "gradcam":
            maps[method] = grad_cam(model, x, target, map_layer(model, x.shape))[0]
        elif method == "occlusion":
            maps[method] = occlusion(model, x, target, window=4, fill=black)[0]
        else:
            ig = integrated_gradients(model, x, target, baseline=np.full_like(x, black))
            maps[method] = ig.sum(axis=1)[0]
    return maps


def has_feature_maps(model, shape: tuple[int, ...]) -> bool:
    """Whether the model has a layer with a 4-D output, where Grad-CAM can look (a net of
    Linear layers only has none)."""
    try:
        layer_index(model, None, (1, *shape))
    except ValueError:
        return False
    return True


def figure_paths(args: argparse.Namespace, images: list[str]) -> list[Path]:
    """Where each image's figure goes: ``--out`` (numbered for several images), or
    IMAGE-why.png in the current folder (IMAGE-why-2.png, ... for a second image of that
    name: a/7.png and b/7.png, or 7.png and 7.jpg, must not write one figure twice)."""
    if args.out:
        return [figure_path(args.out, i, len(images)) for i in range(1, len(images) + 1)]
    paths: list[Path] = []
    for name in images:
        stem, k = Path(name).stem, 1
        while Path(f"{stem}-why{f'-{k}' * (k > 1)}.png") in paths:
            k += 1
        paths.append(Path(f"{stem}-why{f'-{k}' * (k > 1)}.png"))
    return paths


def run(args: argparse.Namespace) -> int:
    images = image_files(args.images)  # a folder: its images, in name order (as predict)
    outs = figure_paths(args, images)
    refuse_overwriting(outs, [*images, args.model], example="why.png")
    if args.out:  # a folder of images must not gain figures that the next run reads
        refuse_figures_among_images(outs, args.images, f"--out {args.out}", "why.png")
    else:
        refuse_figures_among_images(outs, args.images, "IMAGE-why.png", "--out ../why.png")
    model, card = load_model(args.model)
    check_input_shape(model, card, args.model, colour=True)  # what predict accepts
    shape = tuple(card.get("input_shape") or INPUT_SHAPE)
    classes = class_names(card, model.output_shape((1, *shape))[-1], args.model)
    if args.target is not None and args.target >= len(classes):
        raise CliError(
            f"--target {args.target} is not a class of {args.model} (0-{len(classes) - 1})"
        )
    stats = normalization(card, args.model)
    if card.get("dataset") == "fashion-mnist":  # predict's preparation, and what it is
        print(
            "note: explain prepares images as predict does, as Fashion-MNIST's were made: "
            "trimmed to the article, its longer side scaled to 28, negated (light on black)"
        )
    novelty = load_check(args.model)  # None: a note says so
    methods = METHODS if args.method == "all" else (args.method,)
    if "gradcam" in methods and not has_feature_maps(model, shape):
        if args.method == "gradcam":
            raise CliError(
                f"{args.model} has no layer with a 4-D output (N, C, h, w), so no Grad-CAM; "
                "use --method saliency, occlusion or ig"
            )
        methods = tuple(m for m in methods if m != "gradcam")
        print(f"note: {args.model} has no layer with a 4-D output: no Grad-CAM, the other maps")
    status = 0
    for name, out in zip(images, outs):
        try:
            _, x = prepared_input(name, shape, stats, card.get("dataset"))  # as predict does
        except (OSError, ValueError) as err:  # one unreadable image: say so, go on
            message = error_message(err)  # most name the file already: not twice
            print_error(message if str(name) in message else f"{name}: {message}")
            status = 1
            continue
        image = x[0] * stats["std"] + stats["mean"]  # (C, H, W) back in pixel units
        image = image[0] if shape[0] == 1 else np.clip(image.transpose(1, 2, 0), 0, 1)
        answer = predict_with_novelty(model, x, novelty)
        p = answer.probabilities[0]
        best = int(p.argmax())
        verdict = f"{classes[best]} ({p[best]:.1%})"
        if answer.refused[0]:
            verdict = f"{refusal_words(card)} (closest: {verdict})"
        target = best if args.target is None else args.target
        title = f"{Path(name).name}: {verdict}; explaining class {classes[target]}"
        maps = explanation_maps(model, x, target, methods, stats)
        with writing(f"write the figure {out}"):
            save_figure(heat_maps(image, maps, title), out)
        print(f"{name}: {verdict}    figure: {out}")
    return status
