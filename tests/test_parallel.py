"""DataParallel: the same maths as the plain model, on threads."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_gradients, distinct_values
from threadpoolctl import threadpool_info

from cnn_numpy import (
    SGD,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    DataParallel,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    fit,
    lenet,
)
from cnn_numpy.cli import main


def small_net(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return Sequential(Conv2d(2, 3, 3, padding=1, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2),
                      Flatten(), Linear(3 * 3 * 3, 4, rng=rng, dtype=dtype))


def forward_backward(model, x, y):
    loss = CrossEntropyLoss()
    model.zero_grad()
    out = model.forward(x)
    loss.forward(out, y)
    dx = model.backward(loss.backward())
    return out, dx, [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("threads, batch", [(1, 5), (2, 6), (2, 7), (3, 7), (4, 2), (3, 1)])
def test_same_output_and_gradients_as_the_plain_model(threads, batch):
    """Any split, also uneven ones and batches smaller than the thread count."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((batch, 2, 6, 6)), rng.integers(0, 4, batch)
    out, dx, grads = forward_backward(small_net(), x, y)
    out_p, dx_p, grads_p = forward_backward(DataParallel(small_net(), threads), x, y)
    np.testing.assert_allclose(out_p, out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx_p, dx, rtol=1e-12, atol=1e-14)
    for g_p, g in zip(grads_p, grads, strict=True):
        np.testing.assert_allclose(g_p, g, rtol=1e-12, atol=1e-14)


def test_gradients_match_central_differences():
    x = distinct_values(np.random.default_rng(2), (5, 2, 6, 6))
    assert_gradients(DataParallel(small_net(), threads=2), x)


def test_gradients_accumulate_like_any_layer():
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((4, 2, 6, 6)), rng.standard_normal((4, 4))
    model = DataParallel(small_net(), threads=2)
    model.forward(x)
    model.backward(g)
    once = [p.grad.copy() for p in model.parameters()]
    model.forward(x)
    model.backward(g)
    for p, g1 in zip(model.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g1, rtol=1e-12)


def test_fit_trains_the_wrapped_model_like_the_plain_one():
    rng = np.random.default_rng(4)
    X, y = rng.random((48, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 48)

    def train(wrap):
        model = lenet(rng=0)
        trained = DataParallel(model, threads=2) if wrap else model
        fit(trained, CrossEntropyLoss(), SGD(model.parameters(), lr=0.05, momentum=0.9),
            (X, y), epochs=2, batch_size=16, rng=0, verbose=False)
        return model.state_dict()

    plain, parallel = train(False), train(True)
    assert plain.keys() == parallel.keys()
    changed = [k for k in plain if not np.array_equal(lenet(rng=0).state_dict()[k], plain[k])]
    assert changed == list(plain)                     # training moved every parameter
    for k in plain:                                   # float32: only the sum order differs
        np.testing.assert_allclose(parallel[k], plain[k], rtol=1e-3, atol=1e-5, err_msg=k)


def test_replicas_follow_the_module_weights():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 2, 6, 6))
    model, other = small_net(0), small_net(1)
    parallel = DataParallel(model, threads=2)
    parallel.forward(x)
    parallel.load_state_dict(other.state_dict())            # in place
    np.testing.assert_allclose(parallel.forward(x), other.forward(x), rtol=1e-12)
    model[0].weight.data = np.zeros_like(model[0].weight.data)   # a new array
    np.testing.assert_allclose(parallel.forward(x), model.forward(x), rtol=1e-12)
    assert list(parallel.state_dict()) == list(model.state_dict())


def test_train_eval_and_input_gradient_flags_reach_the_replicas():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 4))
    model = Sequential(Linear(4, 3, rng=0, dtype=np.float64), Dropout(0.5, rng=1))
    parallel = DataParallel(model, threads=2)
    parallel.eval()
    np.testing.assert_allclose(parallel.forward(x), model.forward(x), rtol=1e-12)
    parallel.train()
    assert np.any(parallel.forward(x) == 0)                  # dropout is on
    parallel.needs_input_grad = False
    assert parallel.backward(np.ones((6, 3))) is None


def test_dropout_masks_are_reproducible():
    x = np.ones((8, 16))

    def masks():
        model = Sequential(Dropout(0.5, rng=7))
        return DataParallel(model, threads=2).forward(x)

    np.testing.assert_array_equal(masks(), masks())


def test_blas_thread_count_comes_back():
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    model = DataParallel(small_net(), threads=2)
    model.forward(np.zeros((4, 2, 6, 6)))
    after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert after == before


def test_an_error_in_a_thread_reaches_the_caller():
    model = DataParallel(small_net(), threads=2)
    with pytest.raises(ValueError, match="Conv2d.*input channel"):
        model.forward(np.zeros((4, 3, 6, 6)))


@pytest.mark.parametrize("make, message", [
    (lambda: DataParallel(Sequential(Conv2d(1, 2, 3), BatchNorm2d(2)), 2), "BatchNorm2d"),
    (lambda: DataParallel(small_net(), 0), "threads must be an int >= 1"),
    (lambda: DataParallel(small_net(), 1.5), "threads must be an int >= 1"),
    (lambda: DataParallel(small_net(), True), "threads must be an int >= 1"),
    (lambda: DataParallel([ReLU()], 2), "must be a Layer"),
    (lambda: DataParallel(small_net(), 2).forward(np.float64(1.0)), "batch axis"),
])
def test_bad_arguments_are_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_cli_threads_flag(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--batch-size", "8", "--threads", "2",
                 "--no-report", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "threads=2" in out and "Epoch 01 |" in out
    assert main(["train", "--model", "deep", "--epochs", "1", "--threads", "2", "--no-report",
                 "--out", str(tmp_path / "b")]) == 0
    assert "has BatchNorm" in capsys.readouterr().out
