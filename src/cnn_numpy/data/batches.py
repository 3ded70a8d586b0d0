"""Mini-batches and train/test splits, with randomness only from an explicit rng."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..checks import flag, whole
from ..layers.base import as_rng
from .standardized import StandardizedImages, checked_images


def check_dataset(X: np.ndarray, y: np.ndarray, name: str = "dataset") -> None:
    """The same number of samples in X and y, and at least one."""
    if np.ndim(X) == 0 or np.ndim(y) == 0:
        raise ValueError(
            f"{name}: X and y must be arrays with a sample axis, got shapes "
            f"{np.shape(X)} and {np.shape(y)}"
        )
    if len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} samples but y has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")


def checked_split(split, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a data split, checked once before training or evaluating on it: X real
    and finite (``StandardizedImages``: taken as they are), y one integer class index per
    sample.  ValueError naming the split and the
    first bad values."""
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise ValueError(
            f"{name} must be a pair (X, y) of images and labels, got {type(split).__name__}"
        )
    X, y = checked_images(split[0], "X", name), np.asarray(split[1])
    check_dataset(X, y, name)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        whole_floats = y.dtype.kind == "f" and y.ndim == 1 and bool(np.all(y == np.round(y)))
        raise ValueError(
            f"{name}: y must be a 1-D array of integer class indices, got "
            f"dtype {y.dtype} and shape {y.shape}"
            + (" (whole numbers stored as floats: pass y.astype(np.int64))" if whole_floats else "")
            + (" (one-hot rows? pass y.argmax(axis=1))" if y.ndim == 2 else "")
        )
    return X, y


def check_labels(y: np.ndarray, num_classes: int, name: str) -> None:
    """Every label a class index in [0, num_classes): a label of -1 would otherwise pick the
    last class (NumPy's negative indexing) and report an accuracy for nonsense."""
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if len(bad):
        raise ValueError(
            f"{name}: labels must be class indices 0..{num_classes - 1} (the "
            f"model has {num_classes} outputs); {len(bad)} are not, the first at "
            f"index {bad[0]} (values {y[bad[:5]].tolist()})"
        )


def iterate_minibatches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    rng=None,
    merge_single: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X[idx], y[idx])`` batches covering the data once; the last may be smaller.

    With ``shuffle`` the order is a fresh permutation drawn from ``rng`` each call.  With
    ``merge_single`` a last batch of one sample joins the batch before it (which then has
    ``batch_size + 1``): BatchNorm cannot train on a batch of one.  ``count_batches`` says
    how many batches come.
    """
    X = X if isinstance(X, StandardizedImages) else np.asarray(X)  # lists too, as a
    y = np.asarray(y)  # DataLoader takes them; the bytes are standardised a batch at a time
    check_dataset(X, y)
    batch_size = whole(batch_size, "batch_size", "iterate_minibatches", low=1)
    shuffle = flag(shuffle, "shuffle", "iterate_minibatches")
    order = as_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    for part in batch_slices(len(X), batch_size, merge_single):
        idx = order[part]
        yield X[idx], y[idx]


def batch_slices(n: int, batch_size: int, merge_single: bool = False) -> list[slice]:
    """Where each batch lies in an order of ``n`` samples: ``batch_size`` at a time, the
    last taking the rest (see ``iterate_minibatches`` for ``merge_single``)."""
    starts = [step * batch_size for step in range(count_batches(n, batch_size, merge_single))]
    return [slice(start, end) for start, end in zip(starts, [*starts[1:], n])]


def count_batches(n: int, batch_size: int, merge_single: bool = False) -> int:
    """How many batches ``iterate_minibatches`` makes of ``n`` samples: ceil(n / batch_size),
    one fewer with ``merge_single`` when the last would hold a single sample."""
    steps = -(-n // batch_size)  # ceil
    return steps - 1 if merge_single and steps > 1 and n % batch_size == 1 else steps


def train_test_split(X: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, rng=None):
    """Shuffle, then split: returns ``(X_train, y_train), (X_test, y_test)``."""
    X, y = np.asarray(X), np.asarray(y)
    check_dataset(X, y)
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, (int, float))
        or not 0 < test_fraction < 1
    ):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    order = as_rng(rng).permutation(len(X))
    n_test = max(1, int(round(len(X) * test_fraction)))
    if n_test >= len(X):
        raise ValueError(
            f"train_test_split: {len(X)} samples cannot be split into a train and "
            f"a test part with test_fraction={test_fraction}"
        )
    test, train = order[:n_test], order[n_test:]
    return (X[train], y[train]), (X[test], y[test])
