"""The small generated digits the novelty benchmarks' tests train on: ten classes of lines."""

from __future__ import annotations

import numpy as np

import cnn_numpy as cnn
from cnn_numpy.data import normalize

#: the normalisation their model files carry
STATS = {"mean": 0.2, "std": 0.3}


def lines(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Class k: a line at row 2k + 3 over faint noise.  Shape: (N, 1, 28, 28), (N,)"""
    y = np.arange(n) % 10
    X = rng.uniform(0, 0.2, size=(n, 1, 28, 28)).astype(np.float32)
    X[np.arange(n), 0, 2 * y + 3, 4:24] = 1.0
    return X, y


def lenet_on_lines(rng, n: int = 300, epochs: int = 1):
    """A LeNet trained briefly on ``lines(n, rng)``: (model, X, normalised X, y)."""
    X, y = lines(n, rng)
    model = cnn.lenet(rng=1)
    loss, optimizer = cnn.CrossEntropyLoss(), cnn.Adam(model.parameters(), lr=3e-3)
    Xn = normalize(X, **STATS).astype(np.float32)
    cnn.fit(model, loss, optimizer, (Xn, y), epochs=epochs, batch_size=32, rng=2, callbacks=[])
    return model, X, Xn, y
