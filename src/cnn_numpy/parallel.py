"""``DataParallel``: train on several CPU cores by splitting every batch over worker processes.

NumPy runs its elementwise loops and copies (im2col, pooling, ReLU: about half of a LeNet
step) on one core, whatever the BLAS thread count.  To put every core to work on all of the
step, ``DataParallel`` does what ``torch.nn.DataParallel`` does across GPUs, with processes:

    forward:   x (N, ...) -> slices (N/W, ...) -> worker w runs slice w -> outputs concatenated
    backward:  grad_out sliced the same way -> worker w's backward -> parameter gradients added

This process is worker 0: it runs slice 0 with the module itself.  Each other worker is a
Python process (running ``serve()`` below) with a copy of the module whose weights are
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

import atexit
import contextlib
import copy
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .layers.base import Layer, Parameter
from .memory import keep_freed_memory

ALIGN = 64  # bytes: each shared array starts on a cache line


class SharedBlock:
    """A file mapped into memory by this process and by a worker: arrays in it are shared.

    It lives in ``/dev/shm`` (RAM) where there is one.  The file's name is removed once the
    worker has mapped it (``unlink``); the memory stays until both processes let go of it.
    """

    def __init__(self, nbytes: int | None, path: str | None = None):
        """A new block of ``nbytes``, or (``path``) the whole of an existing one."""
        if path is None:
            shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
            fd, path = tempfile.mkstemp(prefix="cnn-numpy-", dir=shm)
            CREATED.add(path)
            with os.fdopen(fd, "wb") as f:
                try:  # reserve the memory now: a full /dev/shm is an error here, not a crash later
                    if hasattr(os, "posix_fallocate"):
                        os.posix_fallocate(f.fileno(), 0, max(nbytes, 1))
                    f.truncate(max(nbytes, 1))
                except OSError as err:
                    unlink(path)
                    raise OSError(f"DataParallel: no room for {nbytes:,} bytes of shared memory "
                                  f"in {os.path.dirname(path)} ({err}); free some, or use fewer "
                                  "workers or smaller batches") from err
        self.path = path
        self.memory = np.memmap(path, np.uint8, mode="r+")

    def array(self, offset: int, shape: tuple[int, ...], dtype) -> np.ndarray:
        return np.ndarray(shape, dtype, buffer=self.memory, offset=offset)

    def arrays(self, layout: list[tuple[int, tuple, str]]) -> list[np.ndarray]:
        return [self.array(offset, shape, dtype) for offset, shape, dtype in layout]

    def unlink(self) -> None:
        unlink(self.path)


#: the files this process made for shared memory: removed once mapped, at the latest at exit
CREATED: set[str] = set()


def unlink(path: str) -> None:
    if path in CREATED:
        with contextlib.suppress(OSError):
            os.unlink(path)
            CREATED.discard(path)  # kept if it failed (a mapped file on Windows): tried at exit


@atexit.register
def unlink_all() -> None:
    for path in list(CREATED):
        unlink(path)


def pack(arrays: list[np.ndarray]) -> tuple[list[tuple[int, tuple, str]], int]:
    """Where each array goes in one shared block: [(offset, shape, dtype), ...], total bytes."""
    layout, end = [], 0
    for a in arrays:
        layout.append((end, a.shape, a.dtype.str))
        end += -(-a.nbytes // ALIGN) * ALIGN  # round up to the next cache line
    return layout, end


def layers_of(layer: Layer) -> Iterator[Layer]:
    """``layer`` and every layer inside it."""
    yield layer
    for value in vars(layer).values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, Layer):
                yield from layers_of(child)


def blank_copy(layer: Layer) -> Layer:
    """A copy of ``layer`` to send to a worker: its structure and settings without its arrays.

    The worker points the parameters at the shared weights; caches are made afresh by its
    first forward.  A random generator (Dropout) is replaced by one seeded from it, so each
    worker draws masks of its own, reproducibly.
    """
    twin = copy.copy(layer)
    for name, value in vars(layer).items():
        if isinstance(value, Parameter):
            setattr(twin, name, Parameter(np.empty(0, value.data.dtype)))
        elif isinstance(value, np.ndarray):
            setattr(twin, name, None)
        elif isinstance(value, np.random.Generator):
            setattr(twin, name, np.random.default_rng(value.integers(2**63)))
        elif isinstance(value, Layer):
            setattr(twin, name, blank_copy(value))
        elif isinstance(value, list) and value and all(isinstance(v, Layer) for v in value):
            setattr(twin, name, [blank_copy(v) for v in value])  # Sequential's layers
    return twin


class Worker:
    """This process's handle on one worker process: requests go down its stdin as pickles,
    replies come back up its stdout."""

    def __init__(self, replica: Layer, weights: SharedBlock, layout: list):
        # the worker imports what this process can: cnn_numpy, even if not installed, and the
        # modules that define the model's layers
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, *sys.path])))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from cnn_numpy.parallel import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
        self.grads: SharedBlock | None = None
        self.inbox: SharedBlock | None = None
        self.unanswered = 0             # requests sent whose reply has not been read yet
        try:
            self.grads = SharedBlock(pack_size(layout))
            self.send("start", replica, weights.path, self.grads.path, layout)
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise

    def send(self, *request) -> None:
        try:
            write_message(self.process.stdin, pickle.dumps(request, pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:
            self.died()
        self.unanswered += 1

    def reply(self):
        """The answer to the oldest unanswered request; an error raised there is raised here."""
        try:
            status, value = pickle.loads(read_message(self.process.stdout))
        except EOFError:
            self.died()
        self.unanswered -= 1
        if status == "error":
            raise value
        return value

    def died(self):
        code = self.process.wait()
        raise RuntimeError(f"DataParallel: worker process {self.process.pid} exited with code "
                           f"{code} (its error, if any, is printed above)")

    def send_input(self, x: np.ndarray, training: bool) -> None:
        """Copy ``x`` into the worker's inbox (a larger one if needed) and ask for forward."""
        new_inbox = self.inbox is None or self.inbox.memory.nbytes < x.nbytes
        if new_inbox:  # its name is removed after the reply, see DataParallel.gather
            self.inbox = SharedBlock(x.nbytes)
        self.inbox.array(0, x.shape, x.dtype)[...] = x
        self.send("forward", self.inbox.path if new_inbox else None, x.shape, x.dtype.str,
                  training)


def pack_size(layout: list) -> int:
    return max((offset + int(np.prod(shape)) * np.dtype(dtype).itemsize
                for offset, shape, dtype in layout), default=0)


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
    is garbage-collected.  Each holds a copy of the module made then: its weights follow the
    module's (in-place updates and ``load_state_dict`` included), its structure does not.
    Each worker's Dropout draws from a generator seeded from the module's when the workers
    start, so a run is reproducible from its seed, but a checkpoint does not hold the
    workers' generators: a resumed run draws other masks than an uninterrupted one.
    Not for layers that compute statistics over the batch (BatchNorm): each worker would
    normalise with the statistics of its slice only, so the model would train differently
    (a ValueError says so).  Layers defined in ``__main__`` or a notebook cannot travel to a
    worker: put them in a module.  ``state_dict()`` and ``load_state_dict()`` are the
    module's, with the module's keys (PyTorch prefixes them with ``module.``).

    Example:
        >>> from cnn_numpy import lenet
        >>> with DataParallel(lenet(rng=0), workers=2) as model:
        ...     model(np.zeros((8, 1, 28, 28), dtype=np.float32)).shape
        (8, 10)
    """

    def __init__(self, module: Layer, workers: int = 2):
        if not isinstance(module, Layer):
            raise ValueError(f"DataParallel: module must be a Layer (e.g. a Sequential), "
                             f"got {module!r}")
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) \
                or workers < 1:
            raise ValueError(f"DataParallel: workers must be an int >= 1, got {workers!r}")
        for layer in layers_of(module):
            if layer.buffer_names:
                raise ValueError(
                    f"DataParallel: {layer!r} keeps statistics over the batch "
                    f"({', '.join(layer.buffer_names)}); split over workers, each slice "
                    "would be normalised on its own.  Train this model without DataParallel "
                    "(e.g. cnn-numpy train without --workers)")
        self.module, self.workers = module, int(workers)
        self.pool: list[Worker] = []
        self.weights: SharedBlock | None = None   # the weights' shared memory, once started
        self.shared: list[np.ndarray] = []        # the parameters' arrays in it
        self.slices: list[slice] | None = None    # how the last forward split its batch
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

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.module.load_state_dict(state)

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
            out = np.concatenate(self.run(
                lambda worker, s: worker.send_input(np.ascontiguousarray(x[s]),
                                                    self.module.training),
                lambda: self.module.forward(x[slices[0]]), slices))
        self.slices = slices           # what backward splits grad_out by
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        slices = self.slices
        if slices is None or (len(slices) > 1 and len(self.pool) < len(slices) - 1):
            raise RuntimeError("DataParallel.backward needs the forward pass of the same batch "
                               "first (and no close() in between)")
        if len(slices) == 1:
            return self.own_backward(grad_out)
        grads = self.run(
            lambda worker, s: worker.send("backward", np.ascontiguousarray(grad_out[s]),
                                          self.needs_input_grad),
            lambda: self.own_backward(grad_out[slices[0]]), slices)
        # d(loss)/d(weight) of the batch = sum over the slices
        for worker in self.pool[: len(slices) - 1]:
            for p, g in zip(self.parameters(), worker.grads_arrays, strict=True):
                p.grad += g
        if any((g is None) != (grads[0] is None) for g in grads):
            raise RuntimeError("DataParallel: the workers disagree on returning an input "
                               "gradient")
        return None if grads[0] is None else np.concatenate(grads)

    def own_backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Slice 0's backward, by the module itself, with our input-gradient flag."""
        own, self.module.needs_input_grad = self.module.needs_input_grad, self.needs_input_grad
        try:
            return self.module.backward(grad_out)
        finally:
            self.module.needs_input_grad = own

    def run(self, send: Callable[[Worker, slice], None], own_work: Callable[[], np.ndarray],
            slices: list[slice]) -> list:
        """Send each worker its slice's request, do slice 0 here meanwhile, then read every
        reply; the results in slice order.

        An error in a slice is raised after all replies are read, so that each later request
        meets its own reply.  If that pairing cannot be kept (a send failed, or Ctrl-C), the
        workers are stopped; the next forward starts new ones.
        """
        workers = self.pool[: len(slices) - 1]
        results, error = [], None
        try:
            for worker, s in zip(workers, slices[1:]):
                send(worker, s)
            with blas_threads(1):   # one core each: this process and every worker
                try:
                    results.append(own_work())
                except Exception as err:
                    error = err
            for worker in workers:
                try:
                    results.append(worker.reply())
                except Exception as err:
                    error = error or err
                if worker.inbox is not None:
                    worker.inbox.unlink()   # mapped by now
        finally:
            if any(worker.unanswered for worker in workers):
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
        pool = self.pool = []
        self.finalizer = weakref.finalize(self, stop_workers, pool)
        try:
            for _ in range(self.workers - 1):
                pool.append(Worker(blank_copy(self.module), weights, self.layout))
            for worker in pool:
                worker.reply()          # started: its files are mapped, their names can go
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
                        f"{shared.dtype} to {p.data.shape} {p.data.dtype}; wrap the model anew")
                shared[...] = p.data
                p.data = shared

    def close(self) -> None:
        """Stop the workers; the module keeps its weights, in memory of its own again."""
        if self.weights is None:
            return
        self.finalizer()
        self.pool, self.weights, self.shared, self.slices = [], None, [], None
        for p in self.parameters():
            p.data = p.data.copy()

    def __enter__(self) -> DataParallel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def stop_workers(pool: list[Worker]) -> None:
    """Ask every worker to stop, then wait for all; kill those still busy after 5 s."""
    for worker in pool:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            worker.send("stop")
        with contextlib.suppress(OSError):
            worker.process.stdin.close()
        worker.process.stdout.close()   # a reply nobody will read must not block the worker
    deadline = time.monotonic() + 5
    for worker in pool:
        try:
            worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


class Replica:
    """What a worker process holds: the module's copy, its shared weights and gradients."""

    def start(self, module: Layer, weights: str, grads: str, layout: list) -> None:
        self.module = module
        weights, self.grads = SharedBlock(None, weights), SharedBlock(None, grads)
        for p, w, g in zip(module.parameters(), weights.arrays(layout),
                           self.grads.arrays(layout), strict=True):
            p.data, p.grad = w, g

    def forward(self, inbox: str | None, shape: tuple, dtype: str, training: bool):
        if inbox is not None:
            self.inbox = SharedBlock(None, inbox)
        self.module.train(training)
        return self.module.forward(self.inbox.array(0, shape, dtype))

    def backward(self, grad_out: np.ndarray, needs_input_grad: bool):
        self.module.zero_grad()       # the shared gradients hold this slice's only
        self.module.needs_input_grad = needs_input_grad
        return self.module.backward(grad_out)


def write_message(stream, data: bytes) -> None:
    """One message: its length (8 bytes), then the bytes (a pickle)."""
    message = memoryview(len(data).to_bytes(8, "little") + data)
    while message:
        message = message[stream.write(message):]


#: How long a process waiting for a message checks for it in a busy loop before it sleeps.
#: A process woken from sleep starts 0.1-0.2 ms late on a VM; the messages of one training
#: step come less than a millisecond apart, so the busy wait catches them.
SPIN_SECONDS = 2e-3


def read_message(stream) -> bytes:
    """The bytes of the next message (EOFError at the end of the stream)."""
    if hasattr(select, "poll"):     # POSIX: poll() works on pipes there
        poller = select.poll()
        poller.register(stream, select.POLLIN)
        end = time.perf_counter() + SPIN_SECONDS
        while not poller.poll(0) and time.perf_counter() < end:
            pass
    header = read_exactly(stream, 8)
    return read_exactly(stream, int.from_bytes(header, "little"))


def read_exactly(stream, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def serve(requests=None, replies=None) -> None:
    """A worker's loop: read a request, do it, write the reply, until "stop" or end of input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process: it stops us
    if requests is None:
        # requests on stdin, replies on stdout, unbuffered; whatever a layer or a C library
        # prints goes to stderr, not into the reply pipe
        requests = os.fdopen(os.dup(0), "rb", buffering=0)
        replies = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    blas_threads(1).__enter__()      # each worker is one core's worth of work
    keep_freed_memory()              # as fit does in the main process
    replica = Replica()
    while True:
        try:
            data = read_message(requests)
        except EOFError:             # the main process is gone
            return
        try:
            kind, *args = pickle.loads(data)
        except Exception as err:     # e.g. a layer class this process cannot import
            write_message(replies, pickle.dumps(("error", RuntimeError(
                f"DataParallel: a worker process could not read the model ({err}).  A layer "
                "class defined in __main__ (a script run directly, a notebook) cannot be sent "
                "to another process: define it in a module (a .py file) and import it"))))
            return
        if kind == "stop":
            return
        try:
            reply = pickle.dumps(("ok", getattr(replica, kind)(*args)), pickle.HIGHEST_PROTOCOL)
        except Exception as err:     # raised by the work, or by pickling its result
            try:
                reply = pickle.dumps(("error", err))
            except Exception:
                reply = pickle.dumps(("error", RuntimeError(f"DataParallel worker: {err!r}")))
        write_message(replies, reply)


_controller = None


def blas_threads(n: int | None):
    """Context manager: BLAS (NumPy's matrix products) limited to ``n`` threads inside
    (``None``: left as it is)."""
    global _controller
    if n is None:
        return contextlib.nullcontext()
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=n, user_api="blas")

