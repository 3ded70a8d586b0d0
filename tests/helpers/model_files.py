"""Model files as tests need them: a LeNet with a full MNIST card, a lines model with its
novelty check."""

from __future__ import annotations

import cnn_numpy as cnn


def save_mnist_lenet(path):
    """An untrained LeNet saved with a full model card, as `cnn-numpy train` saves one
    (predict, explain and export take it as is)."""
    return cnn.save(
        cnn.lenet(rng=0),
        path,
        dataset="mnist",
        class_names=list(cnn.MNIST_CLASSES),
        input_shape=[1, 28, 28],
    )


def save_with_novelty(model, detector, path):
    """``model`` saved as a lines model, with ``detector`` as its novelty check."""
    cnn.save(
        model,
        path,
        dataset="lines",
        class_names=["vertical", "horizontal"],
        input_shape=[1, 28, 28],
    )
    cnn.save_novelty(path, detector)
    return path
