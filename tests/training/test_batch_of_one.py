"""A model with BatchNorm is never handed a last batch of one image (it cannot normalise a
feature over one value): ``fit`` merges that image into the batch before it, so the epoch still
sees every image, and a resumed epoch replays the same batches."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cnn_numpy import (
    SGD,
    BatchNorm1d,
    Callback,
    CrossEntropyLoss,
    EpochProgress,
    Flatten,
    Layer,
    Linear,
    ReLU,
    Sequential,
    deep,
    fit,
    synthetic_lines,
)
from cnn_numpy.train import steps_per_epoch


class Recorder(Layer):
    """The identity, remembering every training batch it sees."""

    def __init__(self):
        self.batches = []

    def forward(self, x):
        if self.training:
            self.batches.append(x.copy())
        return x

    def backward(self, grad_out):
        return grad_out


class Steps(Callback):
    def __init__(self):
        self.steps, self.ends = [], []

    def on_epoch_begin(self, epoch, steps):
        self.steps.append(steps)

    def on_batch_end(self, epoch, step, loss):
        self.ends.append((epoch, step))


def net(batch_norm: bool, rng=1) -> Sequential:
    rng = np.random.default_rng(rng)
    norm = [BatchNorm1d(8)] if batch_norm else []
    return Sequential(Recorder(), Flatten(), Linear(28 * 28, 8, rng=rng), *norm, ReLU(),
                      Linear(8, 2, rng=rng))  # fmt: skip


def train(model, n, batch_size, epochs=1, **kwargs):
    X, y = synthetic_lines(n, rng=0)  # 2n images
    X, y = X[: 2 * n - 1], y[: 2 * n - 1]  # an odd number of them
    steps = Steps()
    opt = SGD(model.parameters(), lr=0.05)
    kwargs = {"rng": 2, "callbacks": [steps], **kwargs}
    history = fit(model, CrossEntropyLoss(), opt, (X, y), epochs, batch_size, **kwargs)
    return X, steps, history


@pytest.mark.parametrize("n, batch_size, sizes", [(3, 2, [2, 3]), (5, 4, [4, 5]), (17, 16, [16, 17]),
                                                  (33, 8, [8] * 7 + [9]), (5, 3, [3, 3, 3])])  # fmt: skip
def test_a_last_batch_of_one_joins_the_batch_before_it(n, batch_size, sizes):
    model = net(batch_norm=True)
    X, steps, _ = train(model, n, batch_size)  # 2n - 1 images
    batches = model[0].batches
    assert [len(b) for b in batches] == sizes
    assert steps.steps == [len(sizes)] == [steps_per_epoch(model, len(X), batch_size)]
    assert steps.ends == [(1, s) for s in range(1, len(sizes) + 1)]
    seen = np.concatenate(batches)  # every image once, in the shuffled order
    assert sorted(map(bytes, seen)) == sorted(map(bytes, X))


def test_a_model_without_batch_statistics_keeps_its_batch_of_one():
    model = net(batch_norm=False)
    X, steps, _ = train(model, 3, 2)  # 5 images
    assert [len(b) for b in model[0].batches] == [2, 2, 1] and steps.steps == [3]


def test_the_deep_preset_trains_on_5_images_at_batch_size_2():
    X, y = synthetic_lines(3, rng=0)
    model = deep(2, rng=0)
    opt = SGD(model.parameters(), lr=0.01)
    history = fit(model, CrossEntropyLoss(), opt, (X[:5], y[:5]), 1, batch_size=2, callbacks=[])
    assert np.isfinite(history.loss[0])


def test_an_epoch_interrupted_before_the_merged_batch_replays_it():
    class StopAfter(Callback):
        def on_batch_end(self, epoch, step, loss):
            if (epoch, step) == (2, 2):
                raise KeyboardInterrupt

    kwargs = dict(batch_size=4, rng=np.random.default_rng(2), callbacks=[])
    X, y = synthetic_lines(7, rng=0)  # 13 images: batches of 4, 4 and 5
    train_split = (X[:13], y[:13])
    model = net(batch_norm=True)
    unbroken = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.05, momentum=0.9),
                   train_split, 3, **kwargs)  # fmt: skip

    model2, progress = net(batch_norm=True), EpochProgress()
    opt2 = SGD(model2.parameters(), lr=0.05, momentum=0.9)
    with pytest.raises(KeyboardInterrupt):
        fit(model2, CrossEntropyLoss(), opt2, train_split, 3, progress=progress,
            **{**kwargs, "rng": np.random.default_rng(2), "callbacks": [StopAfter()]})  # fmt: skip
    history = copy.deepcopy(unbroken)
    for values in vars(history).values():
        del values[1:]
    model2[0].batches.clear()
    resumed = fit(model2, CrossEntropyLoss(), opt2, train_split, 2, history=history,
                  progress=copy.deepcopy(progress), **kwargs)  # fmt: skip
    assert [len(b) for b in model2[0].batches] == [5, 4, 4, 5]  # epoch 2's last, then epoch 3
    assert resumed.loss == unbroken.loss and resumed.train_acc == unbroken.train_acc
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(model2.state_dict()[key], value, err_msg=key)


def test_batch_size_1_with_batch_norm_names_the_fix():
    with pytest.raises(ValueError, match=r"batch of 1\).*batches of 2 or more.*eval\(\)"):
        train(net(batch_norm=True), 3, 1)
