"""DataParallel: the same maths as the plain model, in worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import assert_gradients, distinct_values
from threadpoolctl import threadpool_info

from cnn_numpy import (
    SGD,
    Conv2d,
    CrossEntropyLoss,
    DataParallel,
    Dropout,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    fit,
    lenet,
)
from cnn_numpy.layers.base import layers_of
from cnn_numpy.tools.cli import main


def small_net(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(2, 3, 3, padding=1, rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(3 * 3 * 3, 4, rng=rng, dtype=dtype),
    )


def forward_backward(model, x, y):
    loss = CrossEntropyLoss()
    model.zero_grad()
    out = model.forward(x)
    loss.forward(out, y)
    dx = model.backward(loss.backward())
    return out, dx, [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("workers, batch", [(1, 5), (2, 6), (2, 7), (3, 7), (4, 2), (3, 1)])
def test_same_output_and_gradients_as_the_plain_model(workers, batch):
    """Any split, also uneven ones and batches smaller than the number of workers."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((batch, 2, 6, 6)), rng.integers(0, 4, batch)
    out, dx, grads = forward_backward(small_net(), x, y)
    with DataParallel(small_net(), workers) as parallel:
        out_p, dx_p, grads_p = forward_backward(parallel, x, y)
    np.testing.assert_allclose(out_p, out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx_p, dx, rtol=1e-12, atol=1e-14)
    for g_p, g in zip(grads_p, grads, strict=True):
        np.testing.assert_allclose(g_p, g, rtol=1e-12, atol=1e-14)


def test_gradients_match_central_differences():
    x = distinct_values(np.random.default_rng(2), (5, 2, 6, 6))
    assert_gradients(DataParallel(small_net(), workers=2), x)


def test_gradients_accumulate_like_any_layer():
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((4, 2, 6, 6)), rng.standard_normal((4, 4))
    model = DataParallel(small_net(), workers=2)
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
        trained = DataParallel(model, workers=2) if wrap else model
        fit(
            trained,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.05, momentum=0.9),
            (X, y),
            epochs=2,
            batch_size=16,
            rng=0,
            callbacks=[],
        )
        return model.state_dict()

    plain, parallel = train(False), train(True)
    assert plain.keys() == parallel.keys()
    changed = [k for k in plain if not np.array_equal(lenet(rng=0).state_dict()[k], plain[k])]
    assert changed == list(plain)  # training moved every parameter
    for k in plain:  # float32: only the sum order differs
        np.testing.assert_allclose(parallel[k], plain[k], rtol=1e-3, atol=1e-5, err_msg=k)


def test_replicas_follow_the_module_weights():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 2, 6, 6))
    model, other = small_net(0), small_net(1)
    parallel = DataParallel(model, workers=2)
    parallel.forward(x)
    parallel.load_state_dict(other.state_dict())  # in place
    np.testing.assert_allclose(parallel.forward(x), other.forward(x), rtol=1e-12)
    model[0].weight.data = np.zeros_like(model[0].weight.data)  # a new array
    np.testing.assert_allclose(parallel.forward(x), model.forward(x), rtol=1e-12)
    assert list(parallel.state_dict()) == list(model.state_dict())


def test_train_eval_and_input_gradient_flags_reach_the_replicas():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 4))
    model = Sequential(Linear(4, 3, rng=0, dtype=np.float64), Dropout(0.5, rng=1))
    parallel = DataParallel(model, workers=2)
    parallel.eval()
    np.testing.assert_allclose(parallel.forward(x), model.forward(x), rtol=1e-12)
    parallel.train()
    assert np.any(parallel.forward(x) == 0)  # dropout is on
    parallel.needs_input_grad = False
    assert parallel.backward(np.ones((6, 3))) is None
    parallel.close()


def test_a_layer_in_eval_mode_inside_a_training_model_is_in_eval_mode_in_every_slice():
    x = np.random.default_rng(7).standard_normal((6, 4))
    model = Sequential(Linear(4, 3, rng=0, dtype=np.float64), Dropout(0.5, rng=1))
    model.train()
    model[1].eval()  # this Dropout alone switched off: the workers' must be too
    with DataParallel(model, workers=2) as parallel:
        np.testing.assert_allclose(parallel.forward(x), model[0].forward(x), rtol=1e-12)


def test_dropout_masks_are_reproducible():
    x = np.ones((8, 16))

    def masks():
        model = Sequential(Dropout(0.5, rng=7))
        with DataParallel(model, workers=2) as parallel:
            return parallel.forward(x)

    first = masks()
    np.testing.assert_array_equal(first, masks())
    assert np.any(first == 0) and np.any(first[4:] == 0)  # the worker drops too...
    assert not np.array_equal(first[:4], first[4:])  # ...with masks of its own


def test_blas_thread_count_comes_back():
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    model = DataParallel(small_net(), workers=2)
    model.forward(np.zeros((4, 2, 6, 6)))
    after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert after == before


class FailsOnNegative(Layer):
    """Identity that refuses negative inputs: an error in one slice only."""

    def forward(self, x):
        if np.any(x < 0):
            raise ValueError("FailsOnNegative: negative input")
        return x

    def backward(self, grad_out):
        return grad_out


def test_an_error_in_a_worker_reaches_the_caller_and_the_next_call_still_pairs():
    model = Sequential(FailsOnNegative(), Flatten(), Linear(4, 2, rng=0, dtype=np.float64))
    x = np.ones((4, 4))
    with DataParallel(model, workers=2) as parallel:
        expected = parallel.forward(x)
        bad = x.copy()
        bad[3] = -1  # in the worker's slice
        with pytest.raises(ValueError, match="negative input"):
            parallel.forward(bad)
        np.testing.assert_allclose(parallel.forward(x * 2), model.forward(x * 2), rtol=1e-12)
        np.testing.assert_allclose(parallel.forward(x), expected, rtol=1e-12)


class Scale(Layer):
    """Multiplies by a constant array that is not a parameter."""

    def __init__(self, factors):
        self.factors = np.asarray(factors)

    def forward(self, x):
        return x * self.factors

    def backward(self, grad_out):
        return grad_out * self.factors


def test_a_layers_constant_arrays_reach_the_workers():
    model = Sequential(Scale([1.0, 2.0, 3.0]), Linear(3, 2, rng=0, dtype=np.float64))
    x = np.ones((4, 3))
    with DataParallel(model, workers=2) as parallel:
        np.testing.assert_allclose(parallel.forward(x), model.forward(x), rtol=1e-12)


class InterruptOnNegative(FailsOnNegative):
    def forward(self, x):
        if np.any(x < 0):
            raise KeyboardInterrupt  # as Ctrl-C in the middle of a step
        return x


def test_ctrl_c_in_a_step_stops_the_workers_and_the_next_forward_starts_new_ones():
    model = Sequential(InterruptOnNegative(), Linear(4, 2, rng=0, dtype=np.float64))
    x = np.ones((4, 4))
    with DataParallel(model, workers=2) as parallel:
        parallel.forward(x)
        old = parallel.pool[0].process
        bad = x.copy()
        bad[0] = -1  # in this process's slice
        with pytest.raises(KeyboardInterrupt):
            parallel.forward(bad)
        assert parallel.pool == [] and old.poll() is not None  # the unread reply went with it
        np.testing.assert_allclose(parallel.forward(x), model.forward(x), rtol=1e-12)
        assert parallel.pool[0].process is not old


def test_backward_without_forward_is_an_error():
    parallel = DataParallel(small_net(), workers=2)
    with pytest.raises(RuntimeError, match="forward pass of the same batch first"):
        parallel.backward(np.ones((4, 4)))
    parallel.forward(np.zeros((4, 2, 6, 6)))
    parallel.close()
    with pytest.raises(RuntimeError, match="no close"):
        parallel.backward(np.ones((4, 4)))


def test_an_error_in_a_slice_reaches_the_caller_with_the_batchs_shape():
    with DataParallel(small_net(), workers=2) as model:
        # the slices are (2, 3, 6, 6); the message names what the caller passed
        with pytest.raises(ValueError, match=r"Conv2d.*input channel.*\(4, 3, 6, 6\)"):
            model.forward(np.zeros((4, 3, 6, 6)))


@pytest.mark.parametrize("rows", [3, 5])
def test_backward_needs_one_gradient_row_per_example_of_the_forward(rows):
    with DataParallel(small_net(), workers=2) as model:
        model.forward(np.zeros((4, 2, 6, 6)))
        with pytest.raises(ValueError, match=f"shape \\({rows}, 4\\).*batch of 4"):
            model.backward(np.ones((rows, 4)))
        assert model.backward(np.ones((4, 4))).shape == (4, 2, 6, 6)  # still paired


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: DataParallel(small_net(), 0), "workers must be an int >= 1"),
        (lambda: DataParallel(small_net(), 1.5), "workers must be an int >= 1"),
        (lambda: DataParallel(small_net(), True), "workers must be an int >= 1"),
        (lambda: DataParallel([ReLU()], 2), "must be a Layer"),
        (lambda: DataParallel(small_net(), 2).forward(np.float64(1.0)), "batch axis"),
    ],
)
def test_bad_arguments_are_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_cli_workers_flag(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--workers",
                "2",
                "--no-report",
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "workers=2" in out and "Epoch 01 |" in out
    assert (
        main(
            [
                "train",
                "--model",
                "deep",
                "--epochs",
                "1",
                "--workers",
                "2",
                "--no-report",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out  # BatchNorm's statistics are shared across the slices
    assert "workers=2" in out and "not split" not in out and "Epoch 01 |" in out


def test_cli_says_when_workers_cannot_all_help(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert (
        main(
            [
                "train",
                "--epochs",
                "1",
                "--batch-size",
                "2",
                "--workers",
                "3",
                "--no-report",
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "more than this machine's 2 cores" in out
    assert "batch of 2 is cut into at most 2 slices" in out
    assert (
        main(
            [
                "train",
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--workers",
                "2",
                "--no-report",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "note:" not in out[: out.index("Epoch 01")]  # the flags' notes come before training


def test_ctrl_c_while_the_workers_stop_is_reported_like_any_ctrl_c(tmp_path, capsys, monkeypatch):
    close = DataParallel.close

    def close_then_ctrl_c(self):
        close(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(DataParallel, "close", close_then_ctrl_c)
    assert (
        main(
            [
                "train",
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--workers",
                "2",
                "--no-report",
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 130
    )
    assert "Interrupted." in capsys.readouterr().out


def test_a_worker_whose_reply_nobody_reads_exits_quietly(capfd):
    model = DataParallel(small_net(), workers=2)
    model.forward(np.zeros((4, 2, 6, 6)))
    worker = model.pool[0]
    worker.process.stdout.close()  # as close() or Ctrl-C do mid-step...
    modes = [True] * len(list(layers_of(model.module)))  # every layer in training mode
    worker.send("forward", None, (2, 2, 6, 6), "<f8", modes, None)  # ...a request in flight
    assert worker.process.wait(timeout=30) == 0
    model.close()
    assert "Traceback" not in capfd.readouterr().err


def test_workers_are_processes_and_stop_with_close():
    model = small_net()
    weight = model[0].weight
    parallel = DataParallel(model, workers=3)
    assert parallel.pool == []  # nothing starts before a forward
    parallel.forward(np.zeros((6, 2, 6, 6)))
    processes = [w.process for w in parallel.pool]
    assert len(processes) == 2 and all(p.poll() is None for p in processes)
    assert all(p.pid != os.getpid() for p in processes)
    assert isinstance(weight.data.base, np.memmap)  # the weights are shared memory
    parallel.close()
    assert all(p.returncode == 0 for p in processes)  # stopped, cleanly
    assert not isinstance(weight.data.base, np.memmap)  # the module owns its weights again
    assert model[0].weight is weight
    parallel.close()  # a second close does nothing
    with DataParallel(model, workers=2) as again:  # a closed model can be wrapped anew
        np.testing.assert_allclose(
            again.forward(np.ones((4, 2, 6, 6))), model.forward(np.ones((4, 2, 6, 6))), rtol=1e-12
        )


def test_the_optimizers_in_place_step_reaches_the_workers():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((6, 2, 6, 6)), rng.integers(0, 4, 6)
    plain, model = small_net(), small_net()
    with DataParallel(model, workers=2) as parallel:
        for net in (plain, parallel):
            opt = SGD(net.parameters(), lr=0.5, momentum=0.9)
            for _ in range(3):
                forward_backward(net, x, y)
                opt.step()
        np.testing.assert_allclose(parallel.forward(x), plain.forward(x), rtol=1e-10)


def test_a_dead_worker_is_an_error_that_names_it():
    with DataParallel(small_net(), workers=2) as parallel:
        parallel.forward(np.zeros((4, 2, 6, 6)))
        worker = parallel.pool[0].process
        worker.kill()
        worker.wait()
        with pytest.raises(
            RuntimeError, match=f"worker process {worker.pid} was killed by SIGKILL"
        ):
            parallel.forward(np.zeros((4, 2, 6, 6)))


@pytest.mark.parametrize("when", ["idle", "busy"])
def test_after_a_worker_died_the_next_call_starts_fresh_workers(when):
    """Killed between steps or in the middle of one: that call fails naming the worker, the
    next one works (same answers as the plain net), and nothing is left behind."""
    from cnn_numpy.tools.speed import shared_memory as module

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 2, 6, 6)), np.array([0, 1, 2, 0])
    model = small_net()
    expected = model.forward(x)
    with DataParallel(model, workers=2) as parallel:
        parallel.forward(x)
        dead = parallel.pool[0].process
        if when == "busy":  # the worker dies while it owes us a reply
            parallel.pool[0].send_input(x[2:], [True] * len(list(layers_of(model))), None)
        dead.kill()
        dead.wait()
        with pytest.raises(RuntimeError, match=f"worker process {dead.pid} was killed by SIGKILL"):
            parallel.forward(x)
        assert parallel.pool == [] and parallel.weights is None  # stopped, all of them
        np.testing.assert_allclose(parallel.forward(x), expected, rtol=1e-10)
        fresh = parallel.pool[0].process
        assert fresh.pid != dead.pid and fresh.poll() is None
        forward_backward(parallel, x, y)
    assert fresh.wait(timeout=10) == 0 and module.CREATED == set()


def test_no_shared_memory_file_is_left_behind():
    from cnn_numpy.tools.speed import shared_memory as module

    with DataParallel(small_net(), workers=2) as parallel:
        parallel.forward(np.zeros((4, 2, 6, 6)))
        first_inbox = parallel.pool[0].inbox.path
        parallel.forward(np.zeros((40, 2, 6, 6)))  # needs a larger inbox
        paths = [
            parallel.weights.path,
            parallel.pool[0].grads.path,
            first_inbox,
            parallel.pool[0].inbox.path,
        ]
        assert len(set(paths)) == 4
        assert not any(os.path.exists(p) for p in paths)  # each name went once mapped
        assert module.CREATED == set()


def test_a_layer_class_from_main_gets_a_clear_error(tmp_path):
    """A worker is a fresh Python: it cannot import a class that lives in a script's __main__."""
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent("""
        import numpy as np
        from cnn_numpy import DataParallel, Sequential, ReLU

        class Double(ReLU):
            def forward(self, x):
                return 2 * x

        with DataParallel(Sequential(Double()), workers=2) as model:
            try:
                model.forward(np.ones((4, 3)))
            except RuntimeError as err:
                print("ERROR:", err)
    """)
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "ERROR: DataParallel: a worker process could not read the model" in done.stdout
    assert "define it in a module" in done.stdout
