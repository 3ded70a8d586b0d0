"""Datasets, batching, and your own images prepared like MNIST."""

from .batches import iterate_minibatches, train_test_split
from .datasets import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    normalization_stats,
    normalize,
)
from .download import DownloadError
from .idx import IdxError, read_idx
from .images import preprocess_digit, read_image
from .synthetic import LINES_CLASSES, synthetic_lines

__all__ = [
    "DownloadError",
    "FASHION_MNIST_CLASSES",
    "IdxError",
    "LINES_CLASSES",
    "MNIST_CLASSES",
    "iterate_minibatches",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "normalization_stats",
    "normalize",
    "preprocess_digit",
    "read_idx",
    "read_image",
    "synthetic_lines",
    "train_test_split",
]
