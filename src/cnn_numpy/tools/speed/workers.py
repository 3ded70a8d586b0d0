"""The plumbing of ``DataParallel`` (parallel.py): the worker processes, their copy of the model
and the messages (the memory they share is in shared_memory.py).

A worker is a fresh Python process running ``serve()``.  It holds a copy of the model
(``Replica``); the model's weights, the worker's weight gradients and its input slice live in
memory-mapped files (``SharedBlock``) that both processes map, so none of them is copied per
step.  Requests ("start", "forward", "backward", "stop") go down the worker's stdin and replies
come back up its stdout, each a length-prefixed pickle; only small arrays travel that way (the
logits and their gradient).  ``Worker`` is the main process's handle on one worker.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ...layers.base import Layer, Parameter, layers_of
from . import memory
from .messages import read_message, write_message
from .shared_memory import SharedBlock
from .sync import Pipes, WorkerSync, synced_layers


def blank_copy(layer: Layer) -> Layer:
    """A copy of ``layer`` to send to a worker, its parameters left empty: the worker points
    them at the shared weights.  Other arrays (a custom layer's constants, caches) go as they
    are.  A random generator (Dropout) is replaced by one seeded from it, so each worker
    draws masks of its own, reproducibly.
    """
    twin = copy.copy(layer)
    for name, value in vars(layer).items():
        if isinstance(value, Parameter):
            setattr(twin, name, Parameter(np.empty(0, value.data.dtype)))
        elif isinstance(value, np.random.Generator):
            setattr(twin, name, np.random.default_rng(value.integers(2**63)))
        elif isinstance(value, Layer):
            setattr(twin, name, blank_copy(value))
        elif isinstance(value, list) and value and all(isinstance(v, Layer) for v in value):
            setattr(twin, name, [blank_copy(v) for v in value])  # Sequential's layers
    return twin


class WorkerDied(RuntimeError):
    """A worker process ended while it owed a reply (killed, out of memory, crashed)."""


class Worker:
    """This process's handle on one worker process: requests go down its stdin as pickles,
    replies come back up its stdout."""

    def __init__(self, replica: Layer, weights: SharedBlock, layout: list):
        # the worker imports what this process can: cnn_numpy, even if not installed, and the
        # modules that define the model's layers
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, *sys.path])))
        # for BatchNorm's statistics (sync.py), if the model has any
        self.pipes = Pipes() if synced_layers(replica) else None
        ends = self.pipes.worker_ends if self.pipes else ()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from cnn_numpy.tools.speed.workers import serve; serve()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                bufsize=0,
                # a session of its own: the terminal's Ctrl-C (sent to the foreground
                # process group) reaches only this process, which stops the workers itself; a
                # worker still starting up would die of it.  A worker ends when its stdin
                # closes (this process gone, however it ended)
                start_new_session=True,
                pass_fds=ends,  # the same numbers there
            )
        except BaseException:  # e.g. too many open files: leave none more open
            if self.pipes:
                self.pipes.close()
            raise
        if self.pipes:
            self.pipes.started()
        self.grads: SharedBlock | None = None
        self.inbox: SharedBlock | None = None
        self.unanswered = 0  # requests sent whose reply has not been read yet
        try:
            self.grads = SharedBlock(weights.memory.nbytes)  # the same layout as the weights
            self.send(
                "start",
                replica,
                weights.path,
                self.grads.path,
                layout,
                memory.is_kept(),
                ends,
            )
        except BaseException:
            if self.pipes:
                self.pipes.close()
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
        how = f"exited with code {code} (its error, if any, is printed above)"
        if code < 0:  # ended by a signal: nothing was printed
            name = signal.Signals(-code).name if -code in signal.valid_signals() else "a signal"
            how = f"was killed by {name} (signal {-code})"
            if -code == 9:
                how += ": `kill -9`, or the system ran out of memory"
        raise WorkerDied(f"DataParallel: worker process {self.process.pid} {how}")

    def send_input(self, x: np.ndarray, modes: list[bool], buffers: list | None) -> None:
        """Copy ``x`` into the worker's inbox (a larger one if needed) and ask for forward;
        ``modes``: each layer's ``training``, in ``layers_of`` order; ``buffers``: the
        module's (BatchNorm's running statistics), for the layers in eval mode."""
        new_inbox = self.inbox is None or self.inbox.memory.nbytes < x.nbytes
        if new_inbox:  # its name is removed after the reply, see DataParallel.run
            self.inbox = SharedBlock(x.nbytes)
        self.inbox.array(0, x.shape, x.dtype)[...] = x
        inbox = self.inbox.path if new_inbox else None
        self.send("forward", inbox, x.shape, x.dtype.str, modes, buffers)


def stop_workers(pool: list[Worker]) -> None:
    """Ask every worker to stop, then wait for all; kill those still busy after 5 s."""
    for worker in pool:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            worker.send("stop")
        with contextlib.suppress(OSError):
            worker.process.stdin.close()
        worker.process.stdout.close()  # a reply nobody will read must not block the worker
        if worker.pipes:
            worker.pipes.close()
    deadline = time.monotonic() + 5
    try:
        for worker in pool:
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
    except BaseException:  # Ctrl-C while waiting: leave no worker behind
        for worker in pool:
            worker.process.kill()
        raise


class Replica:
    """What a worker process holds: the module's copy, its shared weights and gradients."""

    def start(
        self, module: Layer, weights: str, grads: str, layout: list, keep_memory: bool, ends
    ) -> None:
        if keep_memory:  # as the main process does
            memory.keep_freed_memory()
        self.module = module
        self.sync = WorkerSync(*ends) if ends else None  # BatchNorm's, of the whole batch
        for layer in synced_layers(module):
            layer.sync = self.sync
        weights, self.grads = SharedBlock(None, weights), SharedBlock(None, grads)
        for p, w, g in zip(
            module.parameters(), weights.arrays(layout), self.grads.arrays(layout), strict=True
        ):
            p.data, p.grad = w, g

    def forward(self, inbox: str | None, shape: tuple, dtype: str, modes: list, buffers):
        if inbox is not None:
            self.inbox = SharedBlock(None, inbox)
        for (_, ours), theirs in zip(self.module.named_buffers(), buffers or [], strict=False):
            ours[...] = theirs  # the main process's running statistics, for eval
        layers = list(layers_of(self.module))
        if len(layers) != len(modes):
            raise ValueError(
                f"DataParallel: the module has {len(modes)} layers now, {len(layers)} when its "
                "workers started; close() it after changing its layers (the next forward "
                "starts workers with the new ones)"
            )
        for layer, training in zip(layers, modes, strict=True):
            layer.training = training  # each layer's own, as there (train() sets them all)
        return self.module.forward(self.inbox.array(0, shape, dtype))

    def backward(self, grad_out: np.ndarray, needs_input_grad: bool):
        self.module.zero_grad()  # the shared gradients hold this slice's only
        self.module.needs_input_grad = needs_input_grad
        return self.module.backward(grad_out)


def serve() -> None:
    """A worker's loop: read a request, do it, write the reply, until "stop" or end of input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process: it stops us
    # requests on stdin, replies on stdout, unbuffered; whatever a layer or a C library prints
    # goes to stderr, not into the reply pipe
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    blas_threads(1).__enter__()  # each worker is one core's worth of work
    replica = Replica()
    while True:
        try:
            data = read_message(requests)
        except EOFError:  # the main process is gone
            return
        try:
            kind, *args = pickle.loads(data)
        except Exception as err:  # e.g. a layer class this process cannot import
            write_message(
                replies,
                pickle.dumps(
                    (
                        "error",
                        RuntimeError(
                            f"DataParallel: a worker process could not read the model ({err}).  A layer "
                            "class defined in __main__ (a script run directly, a notebook) cannot be sent "
                            "to another process: define it in a module (a .py file) and import it"
                        ),
                    )
                ),
            )
            return
        if kind == "stop":
            return
        try:
            reply = pickle.dumps(("ok", getattr(replica, kind)(*args)), pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # raised by the work, or by pickling its result
            if kind != "start" and replica.sync:
                replica.sync.abort()  # no slice may wait for our statistics (sync.py)
            try:
                reply = pickle.dumps(("error", err))
            except Exception:
                reply = pickle.dumps(("error", RuntimeError(f"DataParallel worker: {err!r}")))
        try:
            write_message(replies, reply)
        except BrokenPipeError:  # the main process stopped listening (close, Ctrl-C)
            return


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
