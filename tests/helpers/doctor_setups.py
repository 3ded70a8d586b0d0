"""Small setups for the doctor's tests: a tiny data set and net, healthy, and broken one way
at a time (each broken setup is what one check must catch)."""

from __future__ import annotations

import numpy as np

from cnn_numpy import (
    SGD,
    Adam,
    Conv2d,
    CrossEntropyLoss,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
)

CLASSES, SIZE = 3, 8


def tiny_data(n: int = 240, rng=0, classes: int = CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 1x8x8 images: a fixed random pattern per class plus noise, standardised."""
    rng = np.random.default_rng(rng)
    patterns = rng.standard_normal((classes, 1, SIZE, SIZE))
    y = np.arange(n) % classes
    rng.shuffle(y)
    X = patterns[y] + 0.8 * rng.standard_normal((n, 1, SIZE, SIZE))
    X = (X - X.mean()) / X.std()
    return X.astype(np.float32), y.astype(np.int64)


def tiny_net(rng=0, classes: int = CLASSES) -> Sequential:
    """Conv2d(1, 4, 3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(36, classes)."""
    rng = np.random.default_rng(rng)
    return Sequential(
        Conv2d(1, 4, 3, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(4 * 3 * 3, classes, rng=rng),
    )


def healthy(seed: int = 0):
    """``(model, loss, (X, y), optimizer)``: nothing wrong."""
    model = tiny_net(seed)
    return model, CrossEntropyLoss(), tiny_data(rng=seed), Adam(model.parameters(), lr=3e-3)


class ForgetfulReLU(ReLU):
    """A ReLU whose backward forgets the mask: the gradient flows even where x <= 0."""

    def backward(self, grad_out):
        return grad_out


def wrong_backward(seed: int = 0):
    model, loss, data, _ = healthy(seed)
    model.layers[1] = ForgetfulReLU()
    return model, loss, data, Adam(model.parameters(), lr=3e-3)


def overconfident(seed: int = 0):
    """The last layer's weights 100x too large: confidently wrong at initialisation."""
    model, loss, data, optimizer = healthy(seed)
    model[-1].weight.data *= 100
    return model, loss, data, optimizer


def dead_relus(seed: int = 0):
    """The conv biases far negative: every pre-activation below 0, every ReLU unit dead."""
    model, loss, data, optimizer = healthy(seed)
    model[0].bias.data[...] = -20
    return model, loss, data, optimizer


def raw_pixels(seed: int = 0):
    """Inputs as raw 0-255 pixels instead of standardised."""
    model, loss, (X, y), optimizer = healthy(seed)
    pixels = (X - X.min()) / (X.max() - X.min()) * 255
    return model, loss, (np.round(pixels).astype(np.float32), y), optimizer


def saturated_sigmoids(seed: int = 0):
    """A sigmoid hidden layer whose weights are 30x too large: its outputs stick at 0 and 1."""
    rng = np.random.default_rng(seed)
    model = Sequential(
        Flatten(), Linear(SIZE * SIZE, 16, rng=rng), Sigmoid(), Linear(16, CLASSES, rng=rng)
    )
    model[1].weight.data *= 30
    return model, CrossEntropyLoss(), tiny_data(rng=seed), Adam(model.parameters(), lr=3e-3)


def too_much_weight_decay(seed: int = 0):
    """Weight decay 20 (meant: 2e-4?): every weight is pulled to 0 faster than it learns."""
    model, loss, data, _ = healthy(seed)
    return model, loss, data, Adam(model.parameters(), lr=3e-3, weight_decay=20.0)


def lr_too_high(seed: int = 0):
    model, loss, data, _ = healthy(seed)
    return model, loss, data, SGD(model.parameters(), lr=100.0)


def lr_too_low(seed: int = 0):
    model, loss, data, _ = healthy(seed)
    return model, loss, data, SGD(model.parameters(), lr=1e-6)


def one_class(seed: int = 0):
    model, loss, (X, _), optimizer = healthy(seed)
    return model, loss, (X, np.full(len(X), 2, dtype=np.int64)), optimizer


def missing_classes(seed: int = 0):
    """A 5-class model trained on labels of classes 0-2 only."""
    model = tiny_net(seed, classes=5)
    return model, CrossEntropyLoss(), tiny_data(rng=seed), Adam(model.parameters(), lr=3e-3)


def imbalanced(seed: int = 0):
    """Class 0 is 50x more common than class 2."""
    model, loss, (X, y), optimizer = healthy(seed)
    keep = np.concatenate(
        [np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 2)[:2]]
    )
    return model, loss, (X[keep], y[keep]), optimizer
