"""MNIST and Fashion-MNIST: found on disk if present, else downloaded once and verified.

Where the files come from, in order:

1. ``root`` if given, else the ``CNN_NUMPY_DATA`` environment variable, else ``./data/<name>/``.
   A root may be the dataset folder itself (holding the four files) or a parent holding
   ``mnist/`` or ``fashion-mnist/``; both work.
2. For Fashion-MNIST, the folder of Debian's ``dataset-fashion-mnist`` package, if installed.
3. A download of the missing files into the folder of step 1 (unless ``download=False``).

Files already on disk are checked against the dataset's SHA-256 before their first use
(``verify.py``), so a damaged or altered file is an error, not a silent wrong answer.

Files go by their standard names, gzipped (``train-images-idx3-ubyte.gz``) or not.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checks import real_array
from .download import DownloadError
from .download import download as download_file
from .idx import read_idx
from .verify import mark_verified, verify_files

ENV_VAR = "CNN_NUMPY_DATA"
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILES = [name for pair in SPLITS.values() for name in pair]

MNIST_CLASSES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What we know about a dataset: classes, mirrors, and the SHA-256 of each decompressed file."""

    name: str
    classes: tuple[str, ...]
    mirrors: tuple[str, ...]
    sha256: dict[str, str]
    debian_package: str | None = None


DATASETS = {
    "mnist": DatasetInfo(
        "mnist",
        MNIST_CLASSES,
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's first
            "http://yann.lecun.com/exdb/mnist/",
        ),  # the original
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        FASHION_MNIST_CLASSES,
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        debian_package="dataset-fashion-mnist",
    ),
}


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def find_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem.gz`` or ``folder/stem``, whichever exists (gzip first)."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def dataset_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder for ``name``'s files: from ``root``, else ``$CNN_NUMPY_DATA``, else ``data/``.

    A root that holds a ``<name>/`` folder, is named after another dataset, or holds none of
    the files and is not itself named ``<name>``, means ``root/<name>``; otherwise the root is
    the dataset folder itself.
    """
    base = root if root is not None else os.environ.get(ENV_VAR) or None
    if base is None:
        return Path("data") / name
    base = Path(base).expanduser()
    if (base / name).is_dir() or (base.name in DATASETS and base.name != name):
        return base / name
    if base.name == name or any(find_file(base, stem) for stem in FILES):
        return base
    return base / name


@functools.cache
def debian_dir(package: str) -> Path | None:
    """The folder where a Debian package installed the dataset files (via ``dpkg -L``), if any."""
    if shutil.which("dpkg") is None:
        return None
    try:
        listing = subprocess.run(
            ["dpkg", "-L", package], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None  # not installed, or dpkg misbehaved: just look elsewhere
    for line in listing.splitlines():
        path = Path(line.strip())
        if path.name in (f"{FILES[0]}.gz", FILES[0]):
            return path.parent
    return None


def locate(
    name: str,
    root: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
    splits: tuple[str, ...] = ("train", "test"),
) -> Path:
    """The folder holding the files of ``splits`` (all four by default), downloading the
    missing ones if allowed."""
    info = dataset_info(name)
    wanted = split_files(splits)
    folder = dataset_dir(name, root)
    if all(find_file(folder, stem) for stem in wanted):
        return folder
    if info.debian_package is not None:
        system = debian_dir(info.debian_package)
        if system is not None and all(find_file(system, stem) for stem in wanted):
            return system
    missing = [stem for stem in wanted if find_file(folder, stem) is None]
    if not download:
        raise FileNotFoundError(
            f"{name}: missing {', '.join(missing)} (.gz or not) in {folder.resolve()}; "
            f"pass download=True, or put the files there, or set root= / {ENV_VAR}"
        )
    needs = "all four files" if len(wanted) == len(FILES) else "these files"
    for stem in missing:
        try:
            download_file(
                f"{stem}.gz",
                info.sha256[stem],
                folder,
                list(info.mirrors),
                timeout=timeout,
                progress=progress,
            )
            mark_verified(folder / f"{stem}.gz", info.sha256[stem])  # checked as it arrived
        except DownloadError as err:
            raise DownloadError(
                f"{err}\n{name} needs {needs} in {folder.resolve()}: "
                f"{', '.join(f'{s}.gz' for s in wanted)}"
            ) from err
    return folder


def split_files(splits: tuple[str, ...]) -> list[str]:
    """The file stems of ``splits`` (``"train"``, ``"test"``), images then labels."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ValueError(f"splits must name some of {', '.join(SPLITS)}, got {splits!r}")
    return [stem for split in splits for stem in SPLITS[split]]


def read_split(folder: Path, images_stem: str, labels_stem: str, num_classes: int):
    """Images as float32 (N, 1, H, W) in [0, 1] and labels as int64 (N,), cross-checked."""
    images_path, labels_path = find_file(folder, images_stem), find_file(folder, labels_stem)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(
            f"{labels_path}: expected uint8 labels (N,), got {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"{labels_path}: label {labels.max()} out of range 0..{num_classes - 1}")
    X = images[:, None].astype(np.float32) / np.float32(255)  # (N, 1, H, W), 0..255 -> [0, 1]
    return X, labels.astype(np.int64)


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
    splits: tuple[str, ...] = ("train", "test"),
):
    """``(X_train, y_train), (X_test, y_test)`` of ``"mnist"`` or ``"fashion-mnist"``.

    X is float32 (N, 1, 28, 28) with pixels in [0, 1]; y is int64 (N,).  See the module
    docstring for where the files are looked for.  ``splits=("test",)`` reads (and
    downloads) only the test files and returns ``((X_test, y_test),)``.
    """
    info = dataset_info(name)
    folder = locate(name, root, download, timeout=timeout, progress=progress, splits=splits)
    stems = split_files(splits)
    verify_files([find_file(folder, stem) for stem in stems], info.sha256, name)
    return tuple(read_split(folder, *SPLITS[split], len(info.classes)) for split in splits)


def load_mnist(root: str | os.PathLike | None = None, download: bool = True):
    """MNIST digits: ``(X_train, y_train), (X_test, y_test)``; 60,000 + 10,000 images.

    X float32 (N, 1, 28, 28) in [0, 1], y int64 in 0..9 (names in ``MNIST_CLASSES``).

    Example:
        >>> (X_train, y_train), (X_test, y_test) = load_mnist()   # downloads once to data/mnist
    """
    return load_dataset("mnist", root, download)


def load_fashion_mnist(root: str | os.PathLike | None = None, download: bool = True):
    """Fashion-MNIST (Zalando articles): like ``load_mnist``; names in ``FASHION_MNIST_CLASSES``."""
    return load_dataset("fashion-mnist", root, download)


def normalization_stats(X: np.ndarray) -> dict[str, float]:
    """``{"mean": ..., "std": ...}`` of the pixels of ``X`` (compute it on the training set)."""
    return {"mean": float(X.mean(dtype=np.float64)), "std": float(X.std(dtype=np.float64))}


def normalize(X: np.ndarray, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """``(X - mean) / std`` in X's dtype; ``mean=0, std=1`` changes nothing.

    Standardising inputs to mean 0 and std 1 keeps the first layer's pre-activations at
    the scale its initialisation assumes.  Apply the *training* set's numbers to every split.
    """
    if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
        raise ValueError(
            f"normalize: std must be > 0 and both finite, got mean={mean!r}, std={std!r}"
        )
    X = real_array(X, "X", "normalize", finite=False)
    if X.dtype.kind != "f":
        X = X.astype(np.float32)
    return (X - np.asarray(mean, X.dtype)) / np.asarray(std, X.dtype)
