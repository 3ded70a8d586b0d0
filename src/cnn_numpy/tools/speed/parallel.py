"""``DataParallel``: train on several CPU cores by splitting every batch over worker processes.

NumPy runs its elementwise loops and copies (im2col, pooling, ReLU: about half of a LeNet
step) on one core, whatever the BLAS thread count.  To put every core to work on all of the
step, ``DataParallel`` does what ``torch.nn.DataParallel`` does across GPUs, with processes:

    forward:   x (N, ...) -> slices (N/W, ...) -> worker w runs slice w -> outputs concatenated
    backward:  grad_out sliced the same way -> worker w's backward -> parameter gradients added

This process is worker 0: it runs slice 0 with the module itself.  Each other worker is a
Python process (``serve()`` in workers.py) with a copy of the module whose weights are
the module's own arrays, shared through memory-mapped files: the optimizer's in-place update
here is what every worker computes with next.  A worker writes its parameter gradients into
shared memory too, and ``backward`` adds them into the module's ``Parameter.grad``: the
gradient of a mean loss over the batch is the sum of the slices' gradients (the loss's 1/N
is in ``grad_out``), so the training maths is unchanged; only the order of the float
additions differs.  Requests and small arrays (logits, their gradient) travel as pickles
over the worker's stdin and stdout; the input slice is written into shared memory.

Why processes, not threads: NumPy releases Python's GIL inside its loops, but every hand-over
of the GIL between two threads wakes the other core, and a LeNet step has about a hundred
of them.  Measured on a 2-core VM: two threads each training its own LeNet at batch 32 got
1.6-1.75x the images/s of one thread (the seed net 0.95-1.1x); two processes got 2.0x (the
seed net 1.5-1.9x).  A worker process costs four messages per step instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator

import numpy as np

from ...layers.base import Layer, Parameter, layers_of
from ...layers.speed import input_grad
from .shared_memory import SharedBlock, pack
from .sync import MainSync, SliceFailed, check_statistics, synced_layers
from .workers import Worker, blank_copy, blas_threads, stop_workers

__all__ = ["DataParallel", "blas_threads"]


class DataParallel(Layer):
    """Run ``module`` on ``workers`` slices of each batch at once, one process per slice.

    Args:
        module: the model (usually a ``Sequential``).  Its parameters are the ones to
            optimize: ``DataParallel(model).parameters()`` returns them.
        workers: number of slices and processes, this one included (>= 1).  A batch smaller
            than that uses one worker per example.  Use as many as the machine has cores.

    Shape: whatever ``module`` does; the batch axis is axis 0.

    The workers start at the first forward pass over more than one example (about half a
    second) and stop with ``close()``, at the end of a ``with`` block, or when this object
    is garbage-collected (or when this process ends, however: their stdin closes).  They run in
    a session of their own, so the terminal's Ctrl-C reaches this process only, which stops
    them (``cnn-numpy train`` then saves the run as at any other moment).  Each holds a copy
    of the module made then: its weights and each layer's mode follow the module's (in-place
    updates, ``load_state_dict``, a layer's own ``eval()``), its structure does not
    (``close()`` after changing it).
    Each worker's Dropout draws from a generator seeded from the module's when the workers
    start, so a run is reproducible from its seed, but a checkpoint does not hold the
    workers' generators: a resumed run draws other masks than an uninterrupted one.
    BatchNorm normalises every slice with the whole batch's statistics (sync.py), so the
    model trains as in one process; other layers that keep statistics over the batch are
    refused (a ValueError says so), and BatchNorm too on Windows (no pipes to pass there).
    Layers defined in ``__main__`` or a notebook cannot travel to a worker: put them in a
    module.  ``state_dict()`` and ``load_state_dict()`` are the module's, with the module's
    keys (PyTorch prefixes them with ``module.``).

    Example:
        >>> from cnn_numpy import lenet
        >>> with DataParallel(lenet(rng=0), workers=2) as model:
        ...     model(np.zeros((8, 1, 28, 28), dtype=np.float32)).shape
        (8, 10)
    """

    def __init__(self, module: Layer, workers: int = 2):
        if not isinstance(module, Layer):
            raise ValueError(
                f"DataParallel: module must be a Layer (e.g. a Sequential), got {module!r}"
            )
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ValueError(f"DataParallel: workers must be an int >= 1, got {workers!r}")
        if any(isinstance(layer, DataParallel) for layer in layers_of(module)):
            raise ValueError("DataParallel: the module holds a DataParallel; wrap the model once")
        check_statistics(module)
        self.module, self.workers = module, int(workers)
        self.exchange = MainSync()  # BatchNorm's statistics across the slices (sync.py)
        self.pool: list[Worker] = []
        self.weights: SharedBlock | None = None  # the weights' shared memory, once started
        self.shared: list[np.ndarray] = []  # the parameters' arrays in it
        self.slices: list[slice] | None = None  # how the last forward split its batch
        self.training = module.training

    def __repr__(self) -> str:
        return f"DataParallel({self.module!r}, workers={self.workers})"

    # the module's parameters, buffers, modes and state
    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        return self.module.named_parameters()

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        return self.module.named_buffers()

    def train(self, mode: bool = True) -> DataParallel:
        self.training = mode
        self.module.train(mode)
        return self

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self.module.output_shape(input_shape)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, np.ndarray], strict: bool = True):
        return self.module.load_state_dict(state, strict=strict)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError("DataParallel: the input needs a batch axis (axis 0), got a scalar")
        n, self.slices = len(x), None
        # slice w is x[bounds[w] : bounds[w + 1]]; at most one worker per example
        bounds = np.linspace(0, n, min(self.workers, max(n, 1)) + 1).astype(int)
        slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        if len(slices) == 1:
            out = self.module.forward(x)
        else:
            self.start()
            self.share_weights()
            # each layer's mode (a BatchNorm may be frozen in a training model), and where one
            # is in eval mode, BatchNorm's running statistics (a few numbers)
            modes = [layer.training for layer in layers_of(self.module)]
            buffers = None if all(modes) else [b for _, b in self.named_buffers()]
            try:
                out = np.concatenate(
                    self.run(
                        lambda worker, s: worker.send_input(x[s], modes, buffers),
                        lambda: self.module.forward(x[slices[0]]),
                        slices,
                    )
                )
            except ValueError:  # a layer's error names the slice's shape: name the batch's
                self.module.output_shape(x.shape)  # raises it, if the shape is the cause
                raise
        self.slices = slices  # what backward splits grad_out by
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        slices = self.slices
        if slices is None or (len(slices) > 1 and len(self.pool) < len(slices) - 1):
            raise RuntimeError(
                "DataParallel.backward needs the forward pass of the same batch "
                "first (and no close() in between)"
            )
        if np.shape(grad_out)[:1] != (slices[-1].stop,):
            raise ValueError(
                f"DataParallel.backward: grad_out has shape {np.shape(grad_out)}, "
                f"but the forward pass had a batch of {slices[-1].stop}; pass the "
                "gradient of that forward's output"
            )
        if len(slices) == 1:
            return self.own_backward(grad_out)
        grads = self.run(
            lambda worker, s: worker.send(
                "backward", np.ascontiguousarray(grad_out[s]), self.needs_input_grad
            ),
            lambda: self.own_backward(grad_out[slices[0]]),
            slices,
        )
        # d(loss)/d(weight) of the batch = sum over the slices
        for worker in self.pool[: len(slices) - 1]:
            for p, g in zip(self.parameters(), worker.grads_arrays, strict=True):
                p.grad += g
        if any((g is None) != (grads[0] is None) for g in grads):
            raise RuntimeError("DataParallel: the workers disagree on returning an input gradient")
        return None if grads[0] is None else np.concatenate(grads)

    def own_backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Slice 0's backward, by the module itself, with our input-gradient flag."""
        with input_grad(self.module, self.needs_input_grad):
            return self.module.backward(grad_out)

    def run(
        self,
        send: Callable[[Worker, slice], None],
        own_work: Callable[[], np.ndarray],
        slices: list[slice],
    ) -> list:
        """Send each worker its slice's request, do slice 0 here meanwhile, then read every
        reply; the results in slice order.

        An error in a slice is raised after all replies are read, so that each later request
        meets its own reply.  If that pairing cannot be kept (a send failed, a worker died,
        or Ctrl-C), the workers are stopped; the next forward starts new ones.
        """
        workers = self.pool[: len(slices) - 1]
        results, error = [], None
        synced = self.synced
        try:
            for worker, s in zip(workers, slices[1:]):
                send(worker, s)
            self.exchange.workers = [w.pipes for w in workers] if synced else []
            for layer in synced:
                layer.sync = self.exchange
            with blas_threads(1):  # one core each: this process and every worker
                try:
                    results.append(own_work())
                except Exception as err:
                    error = err
                    self.exchange.abort()  # no worker may wait for this slice's statistics
            for worker in workers:
                try:
                    results.append(worker.reply())
                except Exception as err:  # a slice's own error, rather than SliceFailed
                    error = err if error is None or isinstance(error, SliceFailed) else error
                if worker.inbox is not None:
                    worker.inbox.unlink()  # mapped by now
        finally:
            for layer in synced:
                layer.sync = None  # the module alone sees whole batches again
            # a worker that died, a request whose reply was not read, or a failed exchange of
            # statistics: stop them all, so the next forward starts fresh workers (the module
            # keeps its weights)
            if any(w.unanswered or w.process.poll() is not None for w in workers) or (
                error is not None and synced
            ):
                self.close()
        if error is not None:
            raise error
        return results

    def start(self) -> None:
        """Move the weights into shared memory and start the worker processes (once)."""
        if self.weights is not None:
            return
        params = self.parameters()
        self.layout, nbytes = pack([p.data for p in params])
        weights = self.weights = SharedBlock(nbytes)
        self.shared = weights.arrays(self.layout)  # the parameters' arrays while we run
        for p, shared in zip(params, self.shared, strict=True):
            shared[...] = p.data
            p.data = shared
        self.synced = synced_layers(self.module)  # its BatchNorms: the structure of now
        pool = self.pool = []
        self.finalizer = weakref.finalize(self, stop_workers, pool)
        try:
            for _ in range(self.workers - 1):
                pool.append(Worker(blank_copy(self.module), weights, self.layout))
            for worker in pool:
                worker.reply()  # started: its files are mapped, their names can go
                worker.grads_arrays = worker.grads.arrays(self.layout)
        except BaseException:
            self.close()
            raise
        finally:
            for worker in pool:
                worker.grads.unlink()
            weights.unlink()

    def share_weights(self) -> None:
        """A parameter whose ``.data`` was replaced by a new array (not updated in place) is
        copied back into shared memory, so the workers see it."""
        for (name, p), shared in zip(self.named_parameters(), self.shared, strict=True):
            if p.data is not shared:
                if p.data.shape != shared.shape or p.data.dtype != shared.dtype:
                    raise ValueError(
                        f"DataParallel: parameter {name} changed from {shared.shape} "
                        f"{shared.dtype} to {p.data.shape} {p.data.dtype}; wrap the model anew"
                    )
                shared[...] = p.data
                p.data = shared

    def close(self) -> None:
        """Stop the workers; the module keeps its weights, in memory of its own again."""
        if self.weights is None:
            return
        try:
            self.finalizer()
        finally:
            self.pool, self.weights, self.shared, self.slices = [], None, [], None
            for p in self.parameters():
                p.data = p.data.copy()

    def __enter__(self) -> DataParallel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
