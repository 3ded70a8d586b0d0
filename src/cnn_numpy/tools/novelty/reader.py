"""A reader for the novelty check of a net too small to carry it: a LeNet trained beside the
model on the same training images, whose stages and logits the check reads (``fit_novelty(...,
reader=...)``); the model still gives the answer.

Why: the seed net's one conv layer of 8 filters sees strokes, not their shapes, and its check
refused 80.5% of the photo benchmark's non-digits (goal 85%); every feature of its own tried
fell short (docs/novelty.md).  A LeNet after one epoch (test 98.3%) already reads letters and
doodles as unlike any digit, so the reader trains for one epoch, as the default MNIST run
trains its LeNet (Adam lr 3e-3, batch 128, cosine schedule), on both cores where there are two.
"""

from __future__ import annotations

import os

import numpy as np

from ...data.batches import check_dataset
from ...layers.base import as_rng
from ...losses import CrossEntropyLoss
from ...optim import Adam
from ...presets import lenet
from ...schedulers import CosineAnnealingLR
from ...train import fit
from ..speed.parallel import DataParallel, blas_threads

#: the reader's training: what the default ``cnn-numpy train --dataset mnist`` uses for its
#: LeNet, for one epoch (measured: its check refuses 87.6% of the photo benchmark's
#: non-digits on the fit seed, against 81.0% for the seed net's own)
EPOCHS, LR, BATCH = 1, 3e-3, 128


def default_workers() -> int | None:
    """2 processes where the machine has two cores or more (as the CLI trains MNIST's LeNet),
    else one (None)."""
    return 2 if (os.cpu_count() or 1) >= 2 else None


def train_reader(
    X: np.ndarray,
    y: np.ndarray,
    rng=None,
    num_classes: int | None = None,
    epochs: int = EPOCHS,
    workers: int | None = None,
    callbacks: list | None = None,
):
    """A ``lenet`` trained on ``(X, y)`` (normalised as the model's) to read for the model's
    novelty check: ``epochs`` of Adam (lr 3e-3), batch 128, cosine schedule.

    Args:
        X, y: the training images (N, C, H, W), square, and their labels (N,).
        rng: seed or Generator for the weights and the shuffling.
        num_classes: the model's number of classes (None: the labels' largest + 1).
        workers: processes to split each batch over (``DataParallel``); None or 1: this one.
        callbacks: ``fit``'s (default: silent).

    Example:
        >>> reader = train_reader(X_train, y_train, rng=0, workers=2)           # doctest: +SKIP
        >>> novelty = fit_novelty(model, X_train, y_train, rng=0, reader=reader)  # doctest: +SKIP
    """
    check_dataset(X, y, "train_reader")
    if X.ndim != 4 or X.shape[2] != X.shape[3]:
        raise ValueError(f"train_reader: expected square images (N, C, H, W), got {X.shape}")
    rng = as_rng(rng)
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    reader = lenet(num_classes, in_channels=X.shape[1], image_size=X.shape[2], rng=rng)
    optimizer = Adam(reader.parameters(), lr=LR)
    schedule = CosineAnnealingLR(optimizer, T_max=epochs)
    trained = reader if workers is None or workers == 1 else DataParallel(reader, workers)
    try:
        with blas_threads(workers):
            fit(
                trained,
                CrossEntropyLoss(),
                optimizer,
                (X, y),
                epochs=epochs,
                batch_size=BATCH,
                rng=rng,
                scheduler=schedule,
                callbacks=[] if callbacks is None else callbacks,
            )
    finally:
        if trained is not reader:
            trained.close()
    reader.eval()
    return reader
