"""Datasets and batching."""

from .batches import iterate_minibatches, train_test_split
from .synthetic import LINES_CLASSES, synthetic_lines

__all__ = ["LINES_CLASSES", "iterate_minibatches", "synthetic_lines", "train_test_split"]
