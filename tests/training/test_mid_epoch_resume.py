"""An epoch interrupted at batch k goes on at batch k + 1 (``fit(..., progress=p)``), with the
same shuffle, and ends with the weights, optimizer state and History of an unbroken run, bit
for bit (issue 31 item 7)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cnn_numpy import (
    SGD,
    Adam,
    Callback,
    CrossEntropyLoss,
    Dropout,
    EpochProgress,
    Flatten,
    Linear,
    ReLU,
    Sequential,
    fit,
    seed_net,
    synthetic_lines,
)
from cnn_numpy.transforms import RandomShift


class StopAt(Callback):
    """Ctrl-C after batch ``step`` of epoch ``epoch`` (at the batch's end, or its start)."""

    def __init__(self, epoch: int, step: int, hook: str = "on_batch_end"):
        self.epoch, self.step, self.hook = epoch, step, hook

    def on_batch_end(self, epoch, step, loss):
        if self.hook == "on_batch_end" and (epoch, step) == (self.epoch, self.step):
            raise KeyboardInterrupt

    def on_batch_begin(self, epoch, step):
        if self.hook == "on_batch_begin" and (epoch, step) == (self.epoch, self.step + 1):
            raise KeyboardInterrupt


def with_dropout(rng):
    return Sequential(Flatten(), Linear(28 * 28, 16, rng=rng), ReLU(), Dropout(0.3, rng=rng),
                      Linear(16, 2, rng=rng))  # fmt: skip


def setup(make_model, optimizer):
    model = make_model(np.random.default_rng(1))
    make = {"sgd": lambda p: SGD(p, lr=0.05, momentum=0.9), "adam": lambda p: Adam(p, lr=1e-3)}
    return model, make[optimizer](model.parameters()), np.random.default_rng(2)


@pytest.mark.parametrize("make_model", [lambda rng: seed_net(2, filters=2, rng=rng), with_dropout])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("augment", [None, RandomShift(2)], ids=["plain", "augmented"])
@pytest.mark.parametrize("epoch, step, hook", [(1, 3, "on_batch_end"), (2, 1, "on_batch_begin"),
                                               (2, 7, "on_batch_end"), (3, 5, "on_batch_end")])  # fmt: skip
def test_an_interrupted_epoch_goes_on_where_it_stopped(
    make_model, optimizer, augment, epoch, step, hook
):
    X, y = synthetic_lines(30, rng=0)  # 60 images, 8 batches of 8 (the last of 4)
    train, test = (X[:52], y[:52]), (X[52:], y[52:])
    kwargs = dict(batch_size=8, test=test, callbacks=[], augment=augment)

    model, opt, rng = setup(make_model, optimizer)
    unbroken = fit(model, CrossEntropyLoss(), opt, train, epochs=3, rng=rng, **kwargs)

    model2, opt2, rng2 = setup(make_model, optimizer)
    progress = EpochProgress()
    with pytest.raises(KeyboardInterrupt):
        fit(model2, CrossEntropyLoss(), opt2, train, epochs=3, rng=rng2, progress=progress,
            **{**kwargs, "callbacks": [StopAt(epoch, step, hook)]})  # fmt: skip
    assert progress.step == step and progress.shuffle_state is not None
    history = copy.deepcopy(unbroken)
    for values in vars(history).values():
        del values[epoch - 1 :]  # the epochs finished before the interruption
    saved = copy.deepcopy(progress)  # as a checkpoint holds it
    other_rng = np.random.default_rng(99)  # any Generator: the saved shuffle state decides
    resumed = fit(model2, CrossEntropyLoss(), opt2, train, epochs=3 - (epoch - 1), rng=other_rng,
                  history=history, progress=saved, **kwargs)  # fmt: skip

    assert resumed.loss == unbroken.loss and resumed.train_acc == unbroken.train_acc
    assert resumed.test_acc == unbroken.test_acc and resumed.test_loss == unbroken.test_loss
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(model2.state_dict()[key], value, err_msg=key)
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(opt2.state_dict()[key], value, err_msg=key)
    assert saved.step == 0  # the next epoch started from its first batch


def test_the_progress_is_back_at_batch_0_after_each_epoch():
    X, y = synthetic_lines(10, rng=0)
    model, opt, rng = setup(lambda r: seed_net(2, filters=2, rng=r), "sgd")
    progress = EpochProgress()
    seen = []

    class Watch(Callback):
        def on_batch_end(self, epoch, step, loss):
            seen.append((epoch, progress.step, progress.seen))

    fit(model, CrossEntropyLoss(), opt, (X, y), epochs=2, batch_size=8, rng=rng,
        callbacks=[Watch()], progress=progress)  # fmt: skip
    assert seen == [(1, 1, 8), (1, 2, 16), (1, 3, 20), (2, 1, 8), (2, 2, 16), (2, 3, 20)]
    assert progress == EpochProgress()


def test_a_progress_without_its_shuffle_state_is_refused():
    X, y = synthetic_lines(5, rng=0)
    model, opt, rng = setup(lambda r: seed_net(2, filters=2, rng=r), "sgd")
    with pytest.raises(ValueError, match="shuffle_state"):
        fit(model, CrossEntropyLoss(), opt, (X, y), epochs=1, progress=EpochProgress(step=2))
