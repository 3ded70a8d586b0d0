"""The data a run trains and tests on, as ``train``, ``evaluate`` and ``report`` load it.

One function, ``load_data(source, splits, normalization)``: the synthetic lines (drawn from
the run's seed, so the same split every time) or MNIST / Fashion-MNIST (only the files of the
splits asked for), standardised with the training set's mean and std, or with the numbers a
model was trained with: the images stay the files' bytes, standardised as they are read
(``StandardizedImages``).  Nothing is written into the caller's settings: the normalisation
comes back with the data.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import partial

import numpy as np

from ...data import (
    LINES_CLASSES,
    StandardizedImages,
    normalization_stats,
    synthetic_lines,
    train_test_split,
)
from ...data.cifar10 import ARCHIVE, CIFAR10_CLASSES, FOLDER, cifar10_dir, load_cifar10
from ...data.cifar10 import SPLITS as CIFAR10_SPLITS
from ...data.datasets import DATASETS, dataset_dir, find_file, load_dataset, locate, split_files
from .common import CliError

#: every dataset a run can name
DATASET_NAMES = ("lines", *sorted([*DATASETS, "cifar10"]))
IDENTITY = {"mean": 0.0, "std": 1.0}
Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DataSource:
    """Which data: the dataset and the settings that shape it (a run's, or a model card's)."""

    dataset: str = "lines"
    data_dir: str | None = None
    limit: int | None = None  # the first N training images only
    noise: float = 0.05  # the lines' largest noise std (each image draws its own)
    seed: int = 0  # the lines are drawn from it

    @classmethod
    def from_settings(cls, settings: dict, where: str) -> DataSource:
        """From a run's config.json or a model card's ``settings``; ``where`` names the file
        in the error a malformed value gets."""
        source = cls(
            **{
                key: settings[key]
                for key in ("dataset", "data_dir", "limit", "noise", "seed")
                if settings.get(key) is not None
            }
        )
        kinds = {"dataset": str, "data_dir": str, "limit": int, "noise": (int, float), "seed": int}
        for key, kind in kinds.items():
            value = getattr(source, key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise CliError(f"{where}: {key} is {value!r}, which is not a {key} a run has")
        if (
            source.dataset not in DATASET_NAMES
            or not 0 <= source.seed < 2**32
            or not math.isfinite(source.noise)
            or source.noise < 0
        ):
            raise CliError(
                f"{where}: dataset {source.dataset!r}, seed {source.seed} and noise "
                f"{source.noise} are not settings a run can have (dataset one of "
                f"{', '.join(DATASET_NAMES)}, seed 0..2**32-1, noise >= 0)"
            )
        return source


@dataclass
class Data:
    """The splits asked for (None for one not loaded), normalised (MNIST's, Fashion-MNIST's and
    CIFAR-10's images as ``StandardizedImages``, normalised as they are read)."""

    dataset: str
    train: Split | None
    test: Split | None
    classes: tuple[str, ...]
    normalize: dict[str, float]  # {"mean", "std"} applied to every split
    summary: str  # the "Data: ..." line train prints
    folder: str | None = None  # where the files were found, absolute (None: the lines)

    @property
    def image_shape(self) -> tuple[int, ...]:
        split = self.train if self.train is not None else self.test
        return tuple(split[0].shape[1:])


def load_data(
    source: DataSource,
    splits: tuple[str, ...] = ("train", "test"),
    normalization: dict[str, float] | None = None,
    download: bool = True,
) -> Data:
    """The ``splits`` of ``source``'s dataset, normalised with ``normalization`` (default:
    the training split's own mean and std; the lines are left as they are)."""
    if source.dataset == "lines":
        return load_lines(source, splits)
    if normalization is None and "train" not in splits:
        splits = ("train", *splits)  # the mean and std come from the training images
    load = load_cifar10 if source.dataset == "cifar10" else partial(load_dataset, source.dataset)
    loaded = load(source.data_dir, download=download, splits=splits, dtype=np.uint8)
    loaded = dict(zip(splits, loaded))  # the files' bytes: a quarter of float32's memory
    train, test = loaded.get("train"), loaded.get("test")
    if train is not None and source.limit is not None:
        train = (train[0][: source.limit], train[1][: source.limit])
    stats = normalization or normalization_stats(train[0])
    folder = data_folder(source.dataset, source.data_dir, splits)
    if not stats["std"] > 0:  # one shade everywhere (or no image): nothing to learn from
        raise CliError(one_shade(source, len(train[0]), stats["mean"], folder))
    train, test = (standardized(split, stats) for split in (train, test))
    shape = "x".join(map(str, (train or test)[0].shape[1:]))
    summary = (
        f"Data: {source.dataset}, {count(train, 'train')} / {count(test, 'test')} "
        f"images of {shape}, pixels in [0, 1] standardised with the training mean "
        f"{stats['mean']:.4f} and std {stats['std']:.4f}"
    )
    classes = CIFAR10_CLASSES if source.dataset == "cifar10" else DATASETS[source.dataset].classes
    return Data(source.dataset, train, test, classes, stats, summary, folder)


def one_shade(source: DataSource, n: int, mean: float, folder: str) -> str:
    """The error for training images with std 0: they cannot be standardised."""
    if n == 0:
        problem = f"{folder} holds no training images"
    else:
        problem = (
            f"every pixel of the {n:,} training images in {folder} is {mean * 255:.0f}/255 "
            "(std 0), so they cannot be standardised and teach nothing"
        )
    limit = ", or pass a larger --limit" if source.limit is not None else ""
    return f"{source.dataset}: {problem}; check the files{limit}"


def data_folder(dataset: str, root: str | None, splits: tuple[str, ...]) -> str:
    """The absolute folder the files of ``splits`` were just read from (``root``: a
    --data-dir, or None), so a run resumed from another folder finds them again."""
    if dataset == "cifar10":
        folder = cifar10_dir(root)
    else:
        folder = locate(dataset, root, download=False, splits=splits)
    return os.path.abspath(folder)


def holds_files(dataset: str, root: str | None, splits: tuple[str, ...]) -> bool:
    """Are the files of ``splits`` in ``root`` (a --data-dir; None: ``$CNN_NUMPY_DATA``, else
    ./data), as the loaders look there, so that nothing needs downloading?"""
    if dataset == "lines":
        return True
    if dataset == "cifar10":
        folder = cifar10_dir(root)
        names = [name for split in splits for name in CIFAR10_SPLITS[split]]
        return (
            all((folder / FOLDER / name).is_file() for name in names)
            or (folder / ARCHIVE).is_file()
        )
    folder = dataset_dir(dataset, root)
    return all(find_file(folder, stem) is not None for stem in split_files(splits))


#: the novelty check of a lines model is fitted on this many fresh lines per class
LINES_CHECK = 1000


def load_lines(source: DataSource, splits: tuple[str, ...]) -> Data:
    """The seed's experiment: 600 images of lines drawn from the seed, 80/20 split.  Both
    splits are drawn every time (they come from one draw); the pixels stay in [0, 1]."""
    X, y = synthetic_lines(300, noise=source.noise, rng=np.random.default_rng([source.seed, 1]))
    train, test = train_test_split(X, y, 0.2, rng=np.random.default_rng([source.seed, 2]))
    if source.limit is not None:
        train = (train[0][: source.limit], train[1][: source.limit])
    summary = (
        f"Data: lines (synthetic, noise={source.noise}), {count(train, 'train')} / "
        f"{count(test, 'test')} images of 1x28x28, pixels in [0, 1]"
    )
    return Data(
        "lines",
        train if "train" in splits else None,
        test if "test" in splits else None,
        LINES_CLASSES,
        dict(IDENTITY),
        summary,
    )


def novelty_images(data: Data, source: DataSource) -> Split:
    """The images the novelty check is fitted on: the training images; for the lines, which
    can be drawn without end, ``LINES_CHECK`` fresh ones per class from the same generator and
    noise (its own draw of the seed).  Fitted on the 480 training lines, a fifth of them held
    out, the check's threshold and weights rested on 96 images: for some seeds it refused 14%
    of new lines, and most lines drawn on the page (``benchmarks/drawn_lines.py``)."""
    if data.dataset != "lines":
        return data.train
    rng = np.random.default_rng([source.seed, 3])
    return synthetic_lines(LINES_CHECK, noise=source.noise, rng=rng)


def count(split: Split | None, name: str) -> str:
    return f"{len(split[0])} {name}" if split is not None else f"no {name}"


def standardized(split: tuple | None, stats: dict[str, float]) -> tuple | None:
    """``(X, y)`` with the bytes X read as float32 ``(X / 255 - mean) / std`` a batch at a
    time (``StandardizedImages``): MNIST's training set stays 47 MB, not 188 MB."""
    if split is None:
        return None
    return StandardizedImages(split[0], stats["mean"], stats["std"]), split[1]
