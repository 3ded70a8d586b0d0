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
from pathlib import Path

import numpy as np

from ..checks import flag, path_or_none
from .catalogue import (  # noqa: F401  (kept importable from here, as before the split)
    DATASETS,
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    DatasetInfo,
    dataset_info,
)
from .cifar10 import load_cifar10
from .download import DownloadError, check_folder
from .download import download as download_file
from .idx import read_idx
from .standardized import (  # noqa: F401  (normalization_stats, normalize: kept importable here)
    normalization_stats,
    normalize,
    pixel_dtype,
    unit_pixels,
)
from .verify import MAX_PAYLOAD, mark_verified, verify_files, which_file

ENV_VAR = "CNN_NUMPY_DATA"
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILES = [name for pair in SPLITS.values() for name in pair]


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
    root = path_or_none(root, "root", name)
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
    check_folder(folder)
    if all(find_file(folder, stem) for stem in wanted):
        return folder
    if info.debian_package is not None:
        system = debian_dir(info.debian_package)
        if system is not None and all(find_file(system, stem) for stem in wanted):
            return system
    folder = misnamed_folder(name, folder, wanted)  # before any download beside other files
    missing = [stem for stem in wanted if find_file(folder, stem) is None]
    if not missing:
        return folder
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
                max_payload=MAX_PAYLOAD,
            )
            mark_verified(folder / f"{stem}.gz", info.sha256[stem])  # checked as it arrived
        except DownloadError as err:
            raise DownloadError(
                f"{err}\n{name} needs {needs} in {folder.resolve()}: "
                f"{', '.join(f'{s}.gz' for s in wanted)}"
            ) from err
    return folder


def misnamed_folder(name: str, folder: Path, wanted: list[str]) -> Path:
    """``folder``, unless it is a ``<other dataset>/<name>`` subfolder not yet made while its
    parent holds files under the wanted names: then their content decides.  ``name``'s own
    files are used where they are; another known dataset's are a DatasetFileError saying
    which dataset it is and what to pass instead (never a download into the subfolder)."""
    parent = folder.parent
    present = [path for stem in wanted if (path := find_file(parent, stem)) is not None]
    if folder.is_dir() or not present:
        return folder
    smallest = min(present, key=lambda path: path.stat().st_size)  # a labels file: quick
    found = which_file(smallest)
    if found is None:  # unknown content: leave it alone, and use the subfolder
        return folder
    if found[0] != name:
        verify_files([smallest], dataset_info(name).sha256, name)  # raises, naming found[0]
    return parent


def split_files(splits: tuple[str, ...]) -> list[str]:
    """The file stems of ``splits`` (``"train"``, ``"test"``), images then labels."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ValueError(f"splits must name some of {', '.join(SPLITS)}, got {splits!r}")
    return [stem for split in splits for stem in SPLITS[split]]


def read_split(
    folder: Path, images_stem: str, labels_stem: str, num_classes: int, dtype=np.float32
):
    """Images (N, 1, H, W), float32 in [0, 1] (or the uint8 bytes, for ``dtype=np.uint8``),
    and labels as int64 (N,), cross-checked."""
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
    X = images[:, None]  # (N, 1, H, W)
    if dtype != np.uint8:
        X = unit_pixels(X)  # 0..255 -> [0, 1], in place: no second copy of the set
    return X, labels.astype(np.int64)


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
    splits: tuple[str, ...] = ("train", "test"),
    dtype=np.float32,
):
    """``(X_train, y_train), (X_test, y_test)`` of ``"mnist"`` or ``"fashion-mnist"``
    (or ``"cifar10"``: ``load_cifar10``'s, (N, 3, 32, 32)).

    X is float32 (N, 1, 28, 28) with pixels in [0, 1]; y is int64 (N,).  See the module
    docstring for where the files are looked for.  ``splits=("test",)`` reads (and
    downloads) only the test files and returns ``((X_test, y_test),)``.  ``dtype=np.uint8``
    gives X as the files hold it, bytes 0..255: a quarter of the memory (see
    ``StandardizedImages``).
    """
    dtype = pixel_dtype(dtype, "load_dataset")
    if name == "cifar10":  # binary batches in a tar.gz, not IDX files: a loader of its own
        return load_cifar10(root, download, splits, timeout, progress, dtype=dtype)
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, cifar10")
    info = dataset_info(name)
    download = flag(download, "download", name)  # "no" would download
    folder = locate(name, root, download, timeout=timeout, progress=progress, splits=splits)
    stems = split_files(splits)
    verify_files([find_file(folder, stem) for stem in stems], info.sha256, name)
    return tuple(read_split(folder, *SPLITS[split], len(info.classes), dtype) for split in splits)


def load_mnist(
    root: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
    dtype=np.float32,
):
    """MNIST digits: ``(X_train, y_train), (X_test, y_test)``; 60,000 + 10,000 images.

    X float32 (N, 1, 28, 28) in [0, 1] (``dtype=np.uint8``: the bytes, 0..255), y int64 in
    0..9 (names in ``MNIST_CLASSES``).
    ``timeout``: seconds a mirror may stay silent, or send under 1 KiB, before the next
    one is tried.

    Example:
        >>> (X_train, y_train), (X_test, y_test) = load_mnist()   # downloads once to data/mnist
    """
    return load_dataset("mnist", root, download, timeout, progress, dtype=dtype)


def load_fashion_mnist(
    root: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
    dtype=np.float32,
):
    """Fashion-MNIST (Zalando articles): like ``load_mnist``; names in ``FASHION_MNIST_CLASSES``."""
    return load_dataset("fashion-mnist", root, download, timeout, progress, dtype=dtype)
