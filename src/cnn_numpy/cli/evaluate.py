"""``cnn-numpy evaluate MODEL``: accuracy, per-class accuracy and the confusion matrix on a
dataset's test split, with the normalisation the model was trained with."""

from __future__ import annotations

import argparse

import numpy as np

from ..data import normalize
from ..data.datasets import DATASETS, load_dataset
from ..saving.model_files import ModelFileError, load, load_card
from ..train import predict
from ..visualize.mistakes import confusion_matrix
from .common import positive_int
from .train import load_data


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="accuracy, per-class accuracy and confusion matrix of a saved model",
        description="Evaluate a saved model (model.npz or best.npz from a run folder) on a "
                    "test set: overall accuracy, accuracy per class, and the confusion matrix.")
    p.add_argument("model", metavar="MODEL", help="a .npz saved by training or by cnn_numpy.save")
    p.add_argument("--dataset", choices=["lines", *sorted(DATASETS)], default=None,
                   help="test set to use (default: the dataset the model was trained on)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with the dataset's IDX files, or its parent (as for train)")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="evaluate on the first N test images only")
    p.set_defaults(run=run)


def load_test_set(dataset: str, data_dir: str | None, card: dict):
    """The test split of ``dataset``, normalised as the model's training data was."""
    if dataset == "lines":
        # the synthetic split is drawn from the run's seed, as in training
        settings = {"noise": 0.05, "seed": 0, **card.get("settings", {}), "dataset": "lines"}
        _, (X, y), classes = load_data(argparse.Namespace(**settings))
        return X, y, classes
    _, (X, y) = load_dataset(dataset, data_dir)
    normalization = card.get("normalize") or {"mean": 0.0, "std": 1.0}
    return normalize(X, normalization["mean"], normalization["std"]), y, DATASETS[dataset].classes


def format_report(y: np.ndarray, predicted: np.ndarray, classes) -> str:
    """Accuracy, a per-class table and the confusion matrix, as text."""
    matrix = confusion_matrix(y, predicted, len(classes))
    correct = int(np.trace(matrix))
    lines = [f"Accuracy: {correct / len(y):.4f} ({correct}/{len(y)})", "",
             "Per-class accuracy:"]
    width = max(len("class"), *(len(str(c)) for c in classes))
    lines.append(f"  {'class':<{width}}  accuracy  images")
    for k, name in enumerate(classes):
        count = int(matrix[k].sum())
        accuracy = f"{matrix[k, k] / count:.4f}" if count else "   -  "
        lines.append(f"  {name:<{width}}  {accuracy:>8}  {count:>6}")
    lines += ["", "Confusion matrix (rows: true class, columns: predicted class):"]
    cell = max(4, len(str(matrix.max())) + 1)
    labels = [str(k) for k in range(len(classes))]
    lines.append(" " * (width + 2) + "".join(f"{k:>{cell}}" for k in labels))
    for k, name in enumerate(classes):
        lines.append(f"  {name:<{width}}" + "".join(f"{v:>{cell}}" for v in matrix[k]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        model, card = load(args.model), load_card(args.model)
    except (FileNotFoundError, ModelFileError) as err:
        print(f"error: {err}")
        return 1
    dataset = args.dataset or card.get("dataset")
    if dataset is None:
        print(f"error: {args.model} does not say which dataset it was trained on; pass --dataset")
        return 2
    try:
        data_dir = args.data_dir
        if data_dir is None and dataset == card.get("dataset"):   # where training found it
            data_dir = card.get("settings", {}).get("data_dir")
        X, y, classes = load_test_set(dataset, data_dir, card)
    except (FileNotFoundError, ValueError, RuntimeError) as err:   # RuntimeError: download
        print(f"error: cannot load the {dataset} test set: {err}")
        return 1
    if args.limit is not None:
        X, y = X[: args.limit], y[: args.limit]
    expected = card.get("input_shape")
    if expected is not None and list(X.shape[1:]) != list(expected):
        print(f"error: {args.model} was trained on {'x'.join(map(str, expected))} images, "
              f"{dataset} has {'x'.join(map(str, X.shape[1:]))}")
        return 1
    num_outputs = model.output_shape((1, *X.shape[1:]))[-1]
    if num_outputs != len(classes):
        print(f"error: {args.model} has {num_outputs} outputs, {dataset} has {len(classes)} "
              "classes")
        return 1
    trained = card.get("dataset", "?")
    print(f"Model: {args.model} (trained on {trained}"
          + (f" for {card['epochs']} epochs" if "epochs" in card else "") + f") | test set: "
          f"{dataset}, {len(y)} images\n")
    print(format_report(y, predict(model, X), classes))
    return 0
