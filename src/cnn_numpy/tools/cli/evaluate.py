"""``cnn-numpy evaluate MODEL``: accuracy, per-class accuracy and the confusion matrix on a
dataset's test split, with the normalisation the model was trained with.  Only the test
files are read (or downloaded)."""

from __future__ import annotations

import argparse

import numpy as np

from ..novelty import predict_with_novelty
from ..visualize.mistakes import confusion_matrix
from .common import CliError, UsageError, int_in, load_model, normalization
from .dataset import DATASET_NAMES, Data, DataSource, holds_files, load_data
from .novelty_check import load_check, refusal_report


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="accuracy, per-class accuracy and confusion matrix of a saved model",
        description="Evaluate a saved model (model.npz or best.npz from a run folder) on a "
        "test set: overall accuracy, accuracy per class, the confusion matrix, and "
        "how many test images its novelty check refuses.",
    )
    p.add_argument("model", metavar="MODEL", help="a .npz saved by training or by cnn_numpy.save")
    p.add_argument(
        "--dataset",
        choices=DATASET_NAMES,
        default=None,
        help="test set to use (default: the dataset the model was trained on)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="folder with the dataset's files (IDX, or CIFAR-10's binary batches), or its "
        "parent (as for train)",
    )
    p.add_argument(
        "--limit",
        type=int_in(1, 10_000_000),
        default=None,
        metavar="N",
        help="evaluate on the first N test images only",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model, card = load_model(args.model)
    source = test_source(args, card)
    data = load_data(source, splits=("test",), normalization=normalization(card, args.model))
    X, y = data.test
    if args.limit is not None:
        X, y = X[: args.limit], y[: args.limit]
    check_model_fits(model, card, args.model, data)
    print(f"Model: {args.model} ({trained_on(card)}) | test set: {source.dataset}, {len(y)} images")
    print(other_dataset_note(args.model, card.get("dataset"), source.dataset))
    novelty = load_check(args.model)  # None: a note says so
    answer = predict_with_novelty(model, X, novelty)
    print(format_report(y, answer.predicted, data.classes))
    if novelty is not None:
        print("\n" + refusal_report(answer, y, card, novelty))
    return 0


def test_source(args: argparse.Namespace, card: dict) -> DataSource:
    """Which test set: ``--dataset``, else the model's; the lines are drawn again from the
    run's seed and noise.  Image files are looked for as train looks for them (``--data-dir``,
    else ``$CNN_NUMPY_DATA``, else ./data), then where training found them (the card's
    folder, if it holds them), before anything is downloaded."""
    dataset = args.dataset or card.get("dataset")
    if dataset is None:
        raise UsageError(
            f"{args.model} does not say which dataset it was trained on; pass --dataset"
        )
    if dataset not in DATASET_NAMES:
        raise UsageError(
            f"{args.model} was trained on {dataset!r}, which cnn-numpy cannot "
            f"load; pass --dataset ({', '.join(DATASET_NAMES)})"
        )
    same = dataset == card.get("dataset")
    trained = card.get("settings") if same and isinstance(card.get("settings"), dict) else {}
    source = DataSource.from_settings(
        {**trained, "dataset": dataset, "limit": None}, where=args.model
    )
    if args.data_dir is not None:
        return DataSource(dataset, args.data_dir, None, source.noise, source.seed)
    found = source.data_dir  # where training found the files
    if found is not None and (
        holds_files(dataset, None, ("test",)) or not holds_files(dataset, found, ("test",))
    ):
        found = None  # the usual places have them, or the card's folder has not
    return DataSource(dataset, found, None, source.noise, source.seed)


def other_dataset_note(path: str, trained: str | None, tested: str) -> str:
    """Before the numbers: a model tested on images of another dataset than its card names
    answers with its own classes, so its "accuracy" there says little about it."""
    if trained is None or trained == tested:
        return ""
    return (
        f"note: {path} was trained on {trained}, not {tested}: it answers with {trained}'s "
        f"classes, so the numbers below measure it on images it never learned, not how good "
        f"it is (leave out --dataset to test it on {trained})\n"
    )


def check_model_fits(model, card: dict, path: str, data: Data) -> None:
    expected = card.get("input_shape")
    if expected is not None and list(data.image_shape) != list(expected):
        raise CliError(
            f"{path} was trained on {'x'.join(map(str, expected))} images, "
            f"{data.dataset} has {'x'.join(map(str, data.image_shape))}"
        )
    num_outputs = model.output_shape((1, *data.image_shape))[-1]
    if num_outputs != len(data.classes):
        raise CliError(
            f"{path} has {num_outputs} outputs, {data.dataset} has {len(data.classes)} classes"
        )


def trained_on(card: dict) -> str:
    """``trained on mnist for 3 epochs``, or for a best.npz ``trained on lines; the best
    epoch by test accuracy: epoch 2 of a 5-epoch run``."""
    text = f"trained on {card.get('dataset', '?')}"
    epochs, total = card.get("epochs"), card.get("total_epochs")
    if not isinstance(epochs, int):
        return text
    if card.get("saved_as") == "best" and isinstance(total, int):
        return f"{text}; the best epoch by test accuracy: epoch {epochs} of a {total}-epoch run"
    return f"{text} for {epochs} epoch{'s' if epochs != 1 else ''}"


def format_report(y: np.ndarray, predicted: np.ndarray, classes) -> str:
    """Accuracy, a per-class table and the confusion matrix, as text."""
    matrix = confusion_matrix(y, predicted, len(classes))
    correct = int(np.trace(matrix))
    lines = [f"Accuracy: {correct / len(y):.4f} ({correct}/{len(y)})", "", "Per-class accuracy:"]
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
