"""fit, predict and evaluate on StandardizedImages: the float32 array's training, bit for bit."""

import numpy as np
import pytest

from cnn_numpy import (
    SGD,
    Conv2d,
    CrossEntropyLoss,
    DataParallel,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    evaluate,
    fit,
    predict_proba,
)
from cnn_numpy.data import StandardizedImages
from cnn_numpy.transforms import augmentation

MEAN, STD = 0.13066047740240996, 0.30810780552710154


def float_path(images: np.ndarray) -> np.ndarray:
    """The standardised float32 array the CLI trained on before the bytes."""
    X = images.astype(np.float32)
    X /= np.float32(255)
    X -= np.float32(MEAN)
    X /= np.float32(STD)
    return X


def small_net() -> Sequential:
    rng = np.random.default_rng(0)
    return Sequential(
        Conv2d(1, 3, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(), Linear(48, 3, rng=rng)
    )


def trained(X, y, test, workers: int | None):
    model = small_net()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    trained = model if workers is None else DataParallel(model, workers)
    try:
        history = fit(
            trained, CrossEntropyLoss(), optimizer, (X, y), epochs=2, batch_size=8, test=test,
            rng=np.random.default_rng(1), callbacks=[], augment=augmentation("shift", 8),
        )  # fmt: skip
    finally:
        if trained is not model:
            trained.close()
    return model, history


@pytest.mark.parametrize("workers", [None, 2])
def test_fit_on_the_bytes_gives_the_float_arrays_weights_to_the_last_bit(workers):
    rng = np.random.default_rng(0)
    images, y = rng.integers(0, 256, (30, 1, 8, 8), dtype=np.uint8), rng.integers(0, 3, 30)
    test_images, test_y = rng.integers(0, 256, (9, 1, 8, 8), dtype=np.uint8), rng.integers(0, 3, 9)
    ours = trained(
        StandardizedImages(images, MEAN, STD), y,
        (StandardizedImages(test_images, MEAN, STD), test_y), workers,
    )  # fmt: skip
    theirs = trained(float_path(images), y, (float_path(test_images), test_y), workers)
    for (key, a), (_, b) in zip(ours[0].named_state(), theirs[0].named_state(), strict=True):
        assert a.tobytes() == b.tobytes(), key
    assert ours[1].loss == theirs[1].loss and ours[1].test_acc == theirs[1].test_acc


class CountedReads(StandardizedImages):
    """StandardizedImages that note each read, and refuse to become one float32 array."""

    __array__ = None

    def __init__(self, images):
        super().__init__(images, MEAN, STD)
        self.reads = []

    def __getitem__(self, index):
        self.reads.append(index)
        return super().__getitem__(index)


def test_predict_and_evaluate_read_it_a_batch_at_a_time():
    images = np.random.default_rng(3).integers(0, 256, (300, 1, 8, 8), dtype=np.uint8)
    y = np.arange(300) % 3
    X, model = CountedReads(images), small_net()
    p = predict_proba(model, X)
    assert p.tobytes() == predict_proba(model, float_path(images)).tobytes()
    assert evaluate(model, X, y) == evaluate(model, float_path(images), y)
    assert X.reads and all(i.stop - i.start <= 128 for i in X.reads)
