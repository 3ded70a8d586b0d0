"""Fashion-MNIST test articles made into product photos, read back as `cnn-numpy predict` reads
them for a Fashion-MNIST model.

    python benchmarks/fashion_photos.py runs/fashion-mnist-lenet-.../best.npz \\
        --data-dir ../shared/data/fashion-mnist --limit 1000

Each test image is turned back into the kind of photo Fashion-MNIST was made from: negated
(a dark article on a light ground), given random margins, enlarged 6-12 times, then shown
under a condition: a white ground, a tinted ground (warm paper, grey card), a lamp's
gradient across it, and a phone's photo (tint, gradient, a slight blur and JPEG at once).
For each condition the script prints the share of right answers and the share the model's
novelty check refuses ("not one of its classes"), on the raw test images, on the photos
prepared as predict prepares them for this model (``prepare_fashion``: trimmed to the
article, longer side 28, negated), and on the same photos prepared as digits
(``preprocess_digit``, what predict did before; a photo it cannot read counts as wrong).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from cnn_numpy import load_fashion_mnist
from cnn_numpy.tools.cli.common import load_model
from cnn_numpy.tools.cli.novelty_check import load_check
from cnn_numpy.tools.cli.predict import normalization, prepared_input
from cnn_numpy.tools.novelty import predict_with_novelty

CONDITIONS = ("white ground", "tinted ground", "lamp gradient", "phone photo")


def photo(image: np.ndarray, condition: str, rng: np.random.Generator) -> Image.Image:
    """One article (28, 28, light on black, in [0, 1]) as a photo under ``condition``."""
    top, bottom, left, right = rng.integers(1, 14, 4)
    paper = np.pad(1 - image, ((top, bottom), (left, right)), constant_values=1.0)
    scale = rng.uniform(6, 12)
    size = (round(paper.shape[1] * scale), round(paper.shape[0] * scale))
    big = Image.fromarray(np.round(paper * 255).astype(np.uint8)).resize(size, Image.BICUBIC)
    gray = np.clip(np.asarray(big, np.float32) / 255, 0, 1)[..., None]
    rgb = gray * np.ones(3, np.float32)
    if condition != "white ground":  # a tinted ground: warm paper to grey card
        rgb = rgb * rng.uniform([0.75, 0.72, 0.65], [0.98, 0.97, 0.95]).astype(np.float32)
    if condition in ("lamp gradient", "phone photo"):  # brighter on one side
        h, w = rgb.shape[:2]
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        ramp = np.cos(angle) * xx + np.sin(angle) * yy
        rgb = rgb * (1 - rng.uniform(0.1, 0.25) * (ramp - ramp.min()) / np.ptp(ramp))[..., None]
    out = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    if condition == "phone photo":
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
        buffer = io.BytesIO()
        out.save(buffer, "JPEG", quality=int(rng.integers(60, 90)))
        out = Image.open(io.BytesIO(buffer.getvalue()))
    return out


def scores(model, novelty, x: list, y: np.ndarray) -> str:
    """ "right% (refused%)": the share of right answers (a photo that could not be read, None
    in ``x``, is wrong) and the share the model's novelty check refuses, as predict would."""
    ok = [i for i, v in enumerate(x) if v is not None]
    if not ok:
        return "0.0% (-)"
    answer = predict_with_novelty(model, np.concatenate([x[i] for i in ok]), novelty)
    right = (answer.probabilities.argmax(axis=1) == y[ok]).sum() / len(y)
    refused = f"{answer.refused.mean():.1%}" if novelty is not None else "-"
    return f"{right:.1%} ({refused})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a model file trained on fashion-mnist (cnn-numpy train's)")
    p.add_argument("--data-dir", required=True, help="the folder holding Fashion-MNIST's files")
    p.add_argument("--limit", type=int, default=1000, help="test images per condition")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.limit < 1:
        p.error("--limit must be at least 1")
    model, card = load_model(args.model)
    if card.get("dataset") != "fashion-mnist":
        p.error(f"{args.model} was not trained on fashion-mnist (its card: {card.get('dataset')})")
    stats, novelty = normalization(card, args.model), load_check(args.model)
    _, (X, y) = load_fashion_mnist(root=args.data_dir, download=False)
    X, y = X[: args.limit], y[: args.limit]
    raw = scores(
        model, novelty, [(X[i : i + 1] - stats["mean"]) / stats["std"] for i in range(len(X))], y
    )
    print(f"{args.model}: {len(y)} Fashion-MNIST test images, raw: {raw} right (refused)")
    print("right answers (refused by the novelty check), as predict answers:")
    print("| condition | prepared as articles (predict now) | prepared as digits (before) |")
    print("| --- | ---: | ---: |")
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="fashion-photos-") as folder:
        path = Path(folder) / "photo.png"  # a file, as a user gives predict
        for condition in CONDITIONS:
            results = {"fashion-mnist": [], None: []}
            for image in X[:, 0]:
                photo(image, condition, rng).save(path)
                for dataset, xs in results.items():
                    try:
                        xs.append(prepared_input(str(path), (1, 28, 28), stats, dataset)[1])
                    except ValueError:  # the digit preparation found no stroke
                        xs.append(None)
            cells = [scores(model, novelty, results[d], y) for d in ("fashion-mnist", None)]
            print(f"| {condition} | {cells[0]} | {cells[1]} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
