"""Datasets and batching: MNIST, Fashion-MNIST, the synthetic lines, minibatches.

Your own photos, prepared like MNIST, are a tool: ``cnn_numpy.tools.photos``."""

from .batches import iterate_minibatches, train_test_split
from .cifar10 import CIFAR10_CLASSES, CifarError, load_cifar10
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
from .standardized import StandardizedImages
from .synthetic import LINES_CLASSES, synthetic_lines
from .verify import DatasetFileError

__all__ = [
    "DatasetFileError",
    "CIFAR10_CLASSES",
    "CifarError",
    "load_cifar10",
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
    "read_idx",
    "StandardizedImages",
    "synthetic_lines",
    "train_test_split",
]
