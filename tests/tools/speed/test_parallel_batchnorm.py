"""BatchNorm under DataParallel: every slice is normalised with the whole batch's statistics
(tools/speed/sync.py), so training in slices gives what one process gives; a slice that fails
releases the others instead of leaving them waiting for its statistics."""

import gc
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy import (
    SGD,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    DataParallel,
    Dropout,
    Flatten,
    Layer,
    Linear,
    ReLU,
    Sequential,
)
from cnn_numpy.layers.base import layers_of


def train(model, x, y, steps=3):
    """A few SGD steps with momentum, as fit takes them."""
    optimizer, loss = SGD(model.parameters(), lr=0.1, momentum=0.9), CrossEntropyLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss(model(x), y)
        model.backward(loss.backward())
        optimizer.step()


def assert_same_state(serial, parallel, rtol):
    a, b = serial.state_dict(), parallel.state_dict()
    assert a.keys() == b.keys()
    for name in a:  # the weights, and the running statistics of the whole batches
        np.testing.assert_allclose(b[name], a[name], rtol=rtol, atol=rtol * 1e-3, err_msg=name)


@pytest.mark.parametrize("workers, batch", [(2, 16), (3, 13)])
def test_the_resnet_trains_in_slices_as_in_one_process(workers, batch):
    rng = np.random.default_rng(0)
    x, y = rng.random((batch, 1, 28, 28)), rng.integers(0, 10, batch)
    serial, parallel_model = (cnn.resnet(rng=0, dtype=np.float64) for _ in range(2))
    train(serial, x, y)
    with DataParallel(parallel_model, workers) as parallel:
        train(parallel, x, y)
        assert_same_state(serial, parallel_model, rtol=1e-9)
        serial.eval(), parallel.eval()
        np.testing.assert_allclose(parallel(x), serial(x), rtol=1e-9)  # the running stats


def test_a_slice_of_one_example_is_normalised_with_the_whole_batch():
    # 5 images over 3 processes: slices of 1, 2 and 2; BatchNorm1d alone would refuse the 1
    serial, parallel_model = (cnn.deep(rng=0, dtype=np.float64) for _ in range(2))
    for layer in [*layers_of(serial), *layers_of(parallel_model)]:
        if isinstance(layer, Dropout):
            layer.p = 0.0  # each worker draws its own masks: switched off to compare
    rng = np.random.default_rng(1)
    x, y = rng.random((5, 1, 28, 28)), rng.integers(0, 10, 5)
    train(serial, x, y)
    with DataParallel(parallel_model, workers=3) as parallel:
        train(parallel, x, y)
    assert_same_state(serial, parallel_model, rtol=1e-9)


def test_float32_slices_agree_with_one_process_to_float32_precision():
    rng = np.random.default_rng(2)
    x = rng.normal(3.0, 2.0, (8, 3, 6, 6)).astype(np.float32)  # far from zero mean
    serial = Sequential(Conv2d(3, 4, 3, rng=0), BatchNorm2d(4), ReLU(), Flatten())
    parallel_model = Sequential(Conv2d(3, 4, 3, rng=0), BatchNorm2d(4), ReLU(), Flatten())
    g = rng.standard_normal((8, 64)).astype(np.float32)
    out = serial(x)
    dx = serial.backward(g)
    with DataParallel(parallel_model, workers=2) as parallel:
        np.testing.assert_allclose(parallel(x), out, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(parallel.backward(g), dx, rtol=1e-4, atol=1e-5)
    for (name, p), q in zip(serial.named_parameters(), parallel_model.parameters(), strict=True):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-4, atol=1e-4, err_msg=name)


def test_eval_through_the_workers_uses_the_running_statistics_loaded_here():
    rng = np.random.default_rng(3)
    x = rng.random((6, 1, 28, 28))
    serial, parallel_model = (cnn.resnet(rng=0, dtype=np.float64) for _ in range(2))
    with DataParallel(parallel_model, workers=2) as parallel:
        parallel.eval()
        parallel(x)  # the workers start, with the running statistics of now
        state = {k: v * 1.5 + 0.25 if "running" in k else v for k, v in serial.state_dict().items()}
        serial.load_state_dict(state)
        parallel.load_state_dict(state)
        np.testing.assert_allclose(parallel(x), serial.eval()(x), rtol=1e-9)


class FailsOnBatchOf(Layer):
    """Identity that fails on a slice of ``size`` examples: an error in some slices only."""

    def __init__(self, size):
        self.size = size

    def forward(self, x):
        if len(x) == self.size:
            raise ValueError(f"FailsOnBatchOf: a slice of {self.size}")
        return x

    def backward(self, grad_out):
        return grad_out


def raised(function, *args):
    try:
        function(*args)
    except Exception as err:
        return err
    return None


def net_failing_on(size):
    return Sequential(
        FailsOnBatchOf(size),
        Conv2d(1, 2, 3, rng=0, dtype=np.float64),
        BatchNorm2d(2, dtype=np.float64),
    )


@pytest.mark.parametrize(
    "batch, failing",
    [
        (5, 1),  # slices 1, 2, 2: this process's slice fails; the workers wait at BatchNorm
        (4, 2),  # slices 1, 1, 2: the last worker fails; this process waits at BatchNorm
        (5, 2),  # slices 1, 2, 2: both workers fail
    ],
)
def test_a_failing_slice_releases_the_others_and_its_error_is_raised(batch, failing):
    x = np.random.default_rng(4).random((batch, 1, 5, 5))
    model = net_failing_on(failing)
    with DataParallel(model, workers=3) as parallel:
        outcome = []  # in a thread, so that a slice left waiting fails the test, not hangs it
        step = threading.Thread(target=lambda: outcome.append(raised(parallel, x)), daemon=True)
        step.start()
        step.join(60)
        assert outcome, "the step hung: a slice waited for the statistics of one that failed"
        assert isinstance(outcome[0], ValueError), outcome
        assert f"FailsOnBatchOf: a slice of {failing}" in str(outcome[0])
        good = np.random.default_rng(5).random((9, 1, 5, 5))  # slices 3, 3, 3: none fails
        expected = net_failing_on(failing)(good)
        np.testing.assert_allclose(parallel(good), expected, rtol=1e-9)


class Counts(Layer):
    """A made-up layer that keeps statistics over the batch but shares none across slices."""

    buffer_names = ("seen",)

    def __init__(self):
        self.seen = np.zeros(())

    def forward(self, x):
        self.seen += len(x)
        return x

    def backward(self, grad_out):
        return grad_out


def test_other_layers_with_batch_statistics_are_still_refused():
    with pytest.raises(ValueError, match=r"Counts\(\) keeps statistics over the batch \(seen\)"):
        DataParallel(Sequential(Counts(), Linear(2, 2)), workers=2)
    DataParallel(Sequential(BatchNorm1d(2), Linear(2, 2)), workers=2).close()  # accepted


def in_thread(function, *args, seconds=60):
    """``function(*args)``'s result, or the error it raised; a failed test if it has not
    returned by then (a slice left waiting for another's statistics would hang the test)."""
    outcome = []

    def call():
        try:
            outcome.append(function(*args))
        except Exception as err:
            outcome.append(err)

    step = threading.Thread(target=call, daemon=True)
    step.start()
    step.join(seconds)
    assert outcome, "the step hung: a slice waited for statistics that never came"
    return outcome[0]


def frozen_net():
    """A model in training mode whose BatchNorm is in eval mode (frozen, as in fine-tuning)."""
    model = Sequential(
        Conv2d(3, 4, 3, rng=0, dtype=np.float64), BatchNorm2d(4, dtype=np.float64), Flatten()
    )
    model.layers[1].running_mean[:], model.layers[1].running_var[:] = 0.3, 2.0
    model.layers[1].eval()
    return model


def test_a_frozen_batchnorm_in_a_training_model_stays_frozen_in_every_slice():
    x = np.random.default_rng(6).random((6, 3, 5, 5))
    g = np.random.default_rng(7).random((6, 36))
    serial, parallel_model = frozen_net(), frozen_net()
    out, dx = serial(x), serial.backward(g)
    with DataParallel(parallel_model, workers=2) as parallel:
        np.testing.assert_allclose(in_thread(parallel, x), out, rtol=1e-9)
        np.testing.assert_allclose(in_thread(parallel.backward, g), dx, rtol=1e-9)
    assert_same_state(serial, parallel_model, rtol=1e-12)  # the running statistics untouched
    for (name, p), q in zip(serial.named_parameters(), parallel_model.parameters(), strict=True):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-9, err_msg=name)


class KillsWorker(Layer):
    """Identity that, in the main process, kills worker ``pid`` once that worker has sent its
    BatchNorm statistics and waits for the batch's (the workers' copies have no pid)."""

    pid = None

    def forward(self, x):
        if self.pid is not None:
            time.sleep(0.5)  # the worker's slice reaches BatchNorm and sends its numbers
            os.kill(self.pid, signal.SIGKILL)
            time.sleep(0.5)
        return x

    def backward(self, grad_out):
        return grad_out


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_a_worker_killed_while_it_waits_at_batchnorm_is_the_error_named():
    killer = KillsWorker()
    model = Sequential(
        killer, Conv2d(1, 2, 3, rng=0, dtype=np.float64), BatchNorm2d(2, dtype=np.float64)
    )
    x = np.random.default_rng(8).random((6, 1, 5, 5))
    with DataParallel(model, workers=3) as parallel:
        expected = parallel(x)  # the workers start
        pid = killer.pid = parallel.pool[0].process.pid
        error = in_thread(parallel, x)
        killer.pid = None
        assert isinstance(error, RuntimeError), repr(error)
        assert f"worker process {pid} was killed by SIGKILL (signal 9)" in str(error)
        np.testing.assert_allclose(in_thread(parallel, x), expected, rtol=1e-12)  # fresh workers


@pytest.mark.parametrize(
    "batch, failing",
    [
        (5, 1),  # slices 1, 2, 2: this process's slice fails, both workers send 72 kB
        (4, 1),  # slices 1, 1, 2: this process's and the first worker's, the last sends
    ],
)
def test_a_failing_slice_releases_workers_whose_statistics_fill_the_pipe(batch, failing):
    # 3000 features: a slice's count, mean and variance (72 kB) are more than a pipe holds
    # (64 kB on Linux), so a worker is still writing them when another slice fails
    model = Sequential(FailsOnBatchOf(failing), BatchNorm1d(3000, dtype=np.float64))
    x = np.random.default_rng(9).random((batch, 3000))
    with DataParallel(model, workers=3) as parallel:
        error = in_thread(parallel, x)
        assert isinstance(error, ValueError), repr(error)
        assert f"FailsOnBatchOf: a slice of {failing}" in str(error)
        good = np.random.default_rng(10).random((9, 3000))  # slices 3, 3, 3: none fails
        np.testing.assert_allclose(in_thread(parallel, good), model(good), rtol=1e-9)


def test_backward_differentiates_what_forward_did_even_after_a_switch_to_eval():
    # forward in training mode (the batch's statistics), eval() before backward: the gradient
    # is still that of the batch-statistics forward, in one process and in slices alike
    x = np.random.default_rng(11).random((6, 3, 5, 5))
    g = np.random.default_rng(12).random((6, 36))
    serial, parallel_model = (Sequential(*frozen_net().layers).train() for _ in range(2))
    out, dx = serial(x), serial.backward(g)
    switched = Sequential(*frozen_net().layers).train()
    switched(x)
    np.testing.assert_allclose(switched.eval().backward(g), dx, rtol=1e-9)
    with DataParallel(parallel_model, workers=2) as parallel:
        np.testing.assert_allclose(in_thread(parallel, x), out, rtol=1e-9)
        parallel.eval()
        np.testing.assert_allclose(in_thread(parallel.backward, g), dx, rtol=1e-9)


def open_files() -> int:
    """This process's open files, once the garbage is collected (an error's traceback holds
    what its frames held, e.g. shared memory, until then)."""
    gc.collect()
    return len(os.listdir(f"/proc/{os.getpid()}/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc")
def test_workers_that_cannot_start_leave_no_pipe_open(monkeypatch):
    parallel = DataParallel(Sequential(Linear(3, 2, rng=0), BatchNorm1d(2)), workers=3)
    x = np.ones((4, 3), np.float32)
    before = open_files()

    def no_process(*args, **kwargs):
        raise OSError(24, "Too many open files")

    with monkeypatch.context() as patch:
        patch.setattr(subprocess, "Popen", no_process)
        for _ in range(3):
            with pytest.raises(OSError, match="Too many open files"):
                parallel(x)
    assert open_files() == before
    with parallel:
        assert parallel(x).shape == (4, 2)  # it starts once it can
    assert open_files() == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc")
def test_many_trainings_in_slices_leave_no_pipe_open_and_no_worker_running():
    x = np.random.default_rng(13).random((6, 3, 5, 5))
    before, workers = open_files(), []
    for _ in range(5):
        with DataParallel(Sequential(*frozen_net().layers).train(), workers=3) as parallel:
            parallel(x)
            parallel.backward(np.ones((6, 36)))
            workers += [w.process for w in parallel.pool]
    assert open_files() == before
    assert all(process.poll() is not None for process in workers)


def conv_bn(*norms):
    """A float64 net with the given normalisation layers after its conv (4 channels)."""
    return Sequential(
        Conv2d(3, 4, 3, rng=0, dtype=np.float64),
        *norms,
        ReLU(),
        Flatten(),
        Linear(64, 4, rng=1, dtype=np.float64),
    )


class ToSequence(Layer):
    """(N, C, H, W) -> (N, C, H*W): for BatchNorm1d's (N, C, L) input."""

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(*x.shape[:2], -1)

    def backward(self, grad_out):
        return grad_out.reshape(self.shape)


F64 = dict(dtype=np.float64)
VARIANTS = {
    "affine=False": lambda: conv_bn(BatchNorm2d(4, affine=False, **F64)),
    "no running statistics": lambda: conv_bn(BatchNorm2d(4, track_running_stats=False, **F64)),
    "momentum=None": lambda: conv_bn(BatchNorm2d(4, momentum=None, **F64)),
    "two in a row": lambda: conv_bn(BatchNorm2d(4, **F64), BatchNorm2d(4, momentum=0.5, **F64)),
    "first layer": lambda: Sequential(
        BatchNorm2d(3, **F64), Conv2d(3, 4, 3, rng=0, **F64), Flatten(), Linear(64, 4, rng=1, **F64)
    ),
    "BatchNorm1d (N, C)": lambda: Sequential(
        Flatten(), Linear(108, 8, rng=0, **F64), BatchNorm1d(8, **F64), Linear(8, 4, rng=1, **F64)
    ),
    "BatchNorm1d (N, C, L)": lambda: Sequential(
        ToSequence(), BatchNorm1d(3, **F64), Flatten(), Linear(108, 4, rng=1, **F64)
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("workers, batch", [(2, 10), (4, 10), (4, 4)])  # (4, 4): one each
def test_every_batchnorm_variant_trains_in_slices_as_in_one_process(variant, workers, batch):
    rng = np.random.default_rng(14)
    x, y = rng.random((batch, 3, 6, 6)), rng.integers(0, 4, batch)
    serial, parallel_model = VARIANTS[variant](), VARIANTS[variant]()
    train(serial, x, y)
    with DataParallel(parallel_model, workers) as parallel:
        assert in_thread(train, parallel, x, y) is None  # no error, no hang
        assert_same_state(serial, parallel_model, rtol=1e-9)
        serial.eval(), parallel.eval()  # running statistics, or the batch's through the slices
        np.testing.assert_allclose(in_thread(parallel, x), serial(x), rtol=1e-9)


def test_a_batch_of_one_in_training_mode_gets_batchnorms_own_error():
    with DataParallel(Sequential(Linear(3, 2, rng=0), BatchNorm1d(2)), workers=2) as parallel:
        error = in_thread(parallel, np.ones((1, 3), np.float32))
        assert isinstance(error, ValueError) and "a batch of 1" in str(error), repr(error)
        assert parallel(np.ones((2, 3), np.float32)).shape == (2, 2)


class CtrlC(Layer):
    """Identity that raises KeyboardInterrupt in the main process once ``armed`` there (the
    workers' copies are not), in forward or backward: Ctrl-C while the workers wait."""

    armed = ""

    def forward(self, x):
        if self.armed == "forward":
            raise KeyboardInterrupt
        return x

    def backward(self, grad_out):
        if self.armed == "backward":
            raise KeyboardInterrupt
        return grad_out


@pytest.mark.parametrize("when", ["forward", "backward"])
def test_ctrl_c_while_the_workers_wait_at_batchnorm_stops_them(when):
    ctrl_c = CtrlC()
    x = np.random.default_rng(15).random((6, 3, 5, 5))
    model = Sequential(Conv2d(3, 4, 3, rng=0, **F64), ctrl_c, BatchNorm2d(4, **F64), Flatten())
    with DataParallel(model, workers=3) as parallel:
        expected = parallel(x)  # the workers start
        workers = [w.process for w in parallel.pool]
        ctrl_c.armed = when  # the workers' slices reach BatchNorm and wait for this one's
        with pytest.raises(KeyboardInterrupt):
            parallel(x)
            parallel.backward(np.ones((6, 36)))
        ctrl_c.armed = ""
        assert parallel.pool == [] and all(w.wait(timeout=30) is not None for w in workers)
        np.testing.assert_allclose(in_thread(parallel, x), expected, rtol=1e-12)


def test_layers_added_after_the_workers_started_are_a_clear_error_until_close():
    model = Sequential(Linear(3, 2, rng=0, **F64), BatchNorm1d(2, **F64))
    x = np.random.default_rng(16).random((4, 3))
    with DataParallel(model, workers=2) as parallel:
        parallel(x)
        model.layers.append(ReLU())  # the workers hold the model as it was
        error = in_thread(parallel, x)
        assert isinstance(error, ValueError), repr(error)
        assert "has 4 layers now, 3 when its workers started; close() it" in str(error)
        parallel.close()
        np.testing.assert_allclose(in_thread(parallel, x), model(x), rtol=1e-12)


def test_eval_after_training_and_in_place_changes_uses_the_statistics_of_now():
    rng = np.random.default_rng(17)
    x, y = rng.random((8, 3, 6, 6)), rng.integers(0, 4, 8)
    serial, parallel_model = VARIANTS["two in a row"](), VARIANTS["two in a row"]()
    with DataParallel(parallel_model, workers=2) as parallel:
        for model in (serial, parallel):
            model.eval()
            model(x)  # eval first: the workers start with the statistics of then
            model.train()
            train(model, x, y, steps=2)
            model.eval()
        np.testing.assert_allclose(in_thread(parallel, x), serial(x), rtol=1e-9)
        for model in (serial, parallel_model):
            model[1].running_mean += 0.5  # changed in place, here only
            model[2].running_var *= 2.0
        np.testing.assert_allclose(in_thread(parallel, x), serial(x), rtol=1e-9)


def test_a_data_parallel_inside_another_is_refused():
    inner = DataParallel(Sequential(Conv2d(1, 2, 3), BatchNorm2d(2)), workers=2)
    with pytest.raises(ValueError, match="holds a DataParallel; wrap the model once"):
        DataParallel(Sequential(inner, Flatten()), workers=2)


def test_on_windows_batchnorm_is_refused_with_the_way_out(monkeypatch):
    from cnn_numpy.tools.speed import sync

    monkeypatch.setattr(sync.os, "name", "nt")  # no file descriptors to pass to a worker there
    with pytest.raises(ValueError, match=r"BatchNorm2d\(2.*--workers 1"):
        DataParallel(Sequential(Conv2d(1, 2, 3), BatchNorm2d(2)), workers=2)
    DataParallel(Sequential(Conv2d(1, 2, 3), ReLU()), workers=2).close()  # no BatchNorm: fine


def test_only_a_model_with_batchnorm_gets_the_pipes():
    x = np.random.default_rng(6).random((4, 1, 5, 5))
    with DataParallel(Sequential(Conv2d(1, 2, 3), ReLU()), workers=2) as plain:
        plain(x)
        assert plain.pool[0].pipes is None
    with DataParallel(Sequential(Conv2d(1, 2, 3), BatchNorm2d(2)), workers=2) as synced:
        synced(x)
        assert synced.pool[0].pipes is not None
