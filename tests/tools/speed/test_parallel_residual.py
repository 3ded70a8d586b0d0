"""DataParallel where it applies to residual nets: without BatchNorm its slices give the
serial model's outputs and gradients, and so does the resnet preset (BatchNorm)."""

import numpy as np

import cnn_numpy as cnn
from cnn_numpy import (
    AdaptiveAvgPool2d,
    Conv2d,
    CrossEntropyLoss,
    DataParallel,
    Flatten,
    Linear,
    ReLU,
    Residual,
    Sequential,
)


def plain_residual_net():
    return Sequential(
        Conv2d(1, 4, 3, padding=1, rng=0),
        ReLU(),
        Residual(
            Sequential(
                Conv2d(4, 8, 3, stride=2, padding=1, rng=1),
                ReLU(),
                Conv2d(8, 8, 3, padding=1, rng=2),
            ),
            Conv2d(4, 8, 1, stride=2, rng=3),
        ),
        ReLU(),
        Residual(Sequential(Conv2d(8, 8, 3, padding=1, rng=4))),
        AdaptiveAvgPool2d(1),
        Flatten(),
        Linear(8, 3, rng=5),
    )


def one_step_each(serial, parallel_model, x, y):
    """Forward and backward of the batch through ``serial`` and, split over two workers,
    through ``parallel_model``; the latter's logits."""
    loss = CrossEntropyLoss()
    loss(serial(x), y)
    serial.backward(loss.backward())
    with DataParallel(parallel_model, workers=2) as parallel:
        logits = parallel(x)
        loss(logits, y)
        parallel.backward(loss.backward())
    return logits


def test_data_parallel_runs_a_residual_net_like_the_serial_one():
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 1, 10, 10), dtype=np.float32), rng.integers(0, 3, 6)
    serial, parallel_model = plain_residual_net(), plain_residual_net()
    logits = one_step_each(serial, parallel_model, x, y)
    np.testing.assert_allclose(logits, serial(x), rtol=1e-5, atol=1e-6)
    grads = dict(parallel_model.named_parameters())
    for name, p in serial.named_parameters():
        np.testing.assert_allclose(grads[name].grad, p.grad, rtol=1e-4, atol=1e-6, err_msg=name)


def test_the_resnet_preset_trains_under_data_parallel_as_in_one_process():
    # its BatchNorm shares the whole batch's statistics (tests/tools/speed/test_parallel_batchnorm.py)
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 1, 28, 28)), rng.integers(0, 10, 6)
    serial, parallel_model = (cnn.resnet(rng=0, dtype=np.float64) for _ in range(2))
    logits = one_step_each(serial, parallel_model, x, y)
    np.testing.assert_allclose(logits, serial(x), rtol=1e-9)
    grads = dict(parallel_model.named_parameters())
    for name, p in serial.named_parameters():
        np.testing.assert_allclose(grads[name].grad, p.grad, rtol=1e-8, atol=1e-12, err_msg=name)
