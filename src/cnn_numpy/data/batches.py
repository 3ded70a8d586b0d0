"""Mini-batches and train/test splits, with randomness only from an explicit rng."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..layers.base import as_rng


def check_dataset(X: np.ndarray, y: np.ndarray, name: str = "dataset") -> None:
    if len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} samples but y has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")


def iterate_minibatches(X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                        rng=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X[idx], y[idx])`` batches covering the data once; the last may be smaller.

    With ``shuffle`` the order is a fresh permutation drawn from ``rng`` each call.
    """
    check_dataset(X, y)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = as_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        yield X[idx], y[idx]


def train_test_split(X: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, rng=None):
    """Shuffle, then split: returns ``(X_train, y_train), (X_test, y_test)``."""
    check_dataset(X, y)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = as_rng(rng).permutation(len(X))
    n_test = max(1, int(round(len(X) * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    return (X[train], y[train]), (X[test], y[test])
