"""diagnose on StandardizedImages (the CLI's MNIST): the float array's findings, without a
float32 copy of every image."""

import numpy as np

from cnn_numpy import SGD, CrossEntropyLoss, seed_net
from cnn_numpy.data import StandardizedImages
from cnn_numpy.tools.doctor import diagnose

CHECKS = ["labels", "input_scale", "init_loss"]


class ReadByIndex(StandardizedImages):
    __array__ = None  # np.asarray(X) of them all: refused


def test_diagnose_reads_the_bytes_by_index_and_finds_what_it_finds_on_floats():
    rng = np.random.default_rng(0)
    images, y = rng.integers(0, 256, (60, 1, 28, 28), dtype=np.uint8), rng.integers(0, 2, 60)
    X = ReadByIndex(images, 0.5, 0.29)

    def findings(X):
        model = seed_net(2, rng=1)
        optimizer = SGD(model.parameters(), 0.01)
        found = diagnose(model, CrossEntropyLoss(), (X, y), optimizer, checks=CHECKS, rng=3)
        return [(f.check, f.status, f.message) for f in found]

    assert findings(X) == findings(X[:])
