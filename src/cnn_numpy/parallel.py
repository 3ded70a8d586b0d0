"""``DataParallel``: train on several CPU cores by splitting every batch over threads.

NumPy runs its elementwise loops and copies (im2col, pooling, ReLU: about half of a LeNet
step) on one core, whatever the BLAS thread count.  But it releases Python's GIL inside
those loops and inside matrix products, so two threads that each run the *whole* net on half
of the batch keep two cores busy with all of the work.  This is ``torch.nn.DataParallel``'s
idea (one replica of the net per GPU) with threads instead of GPUs:

    forward:   x (N, ...) -> slices (N/T, ...) -> replica t runs slice t -> outputs concatenated
    backward:  grad_out sliced the same way -> replica t's backward -> parameter gradients added

Each replica shares the module's weights (the same arrays: one optimizer step updates all)
but keeps its own caches and gradients.  The gradient of a mean loss over the whole batch is
the sum of the slices' gradients, so ``backward`` adds the replicas' gradients into the
module's ``Parameter.grad``: the training maths is unchanged, only the order of the float
additions differs.  While the threads run, BLAS gets one thread each (two threads each asking
BLAS for two would fight over the cores).
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .layers.base import Layer, Parameter


def replicate(layer: Layer, own_gradients: bool = True) -> Layer:
    """A copy of ``layer`` that shares its weights but has caches (and, by default,
    gradients) of its own.

    Parameters become new ``Parameter`` objects around the same ``.data`` arrays (or stay
    the very same objects, gradients included, if ``own_gradients`` is False); other
    arrays (what a layer keeps from its last call: caches, workspaces) are copied, so no two
    threads ever write into one; a random generator (Dropout) is replaced by one seeded from
    it, so each replica draws its own masks.
    """
    twin = copy.copy(layer)
    for name, value in vars(layer).items():
        if isinstance(value, Parameter):
            setattr(twin, name, Parameter(value.data) if own_gradients else value)
        elif isinstance(value, np.ndarray):
            setattr(twin, name, value.copy())
        elif isinstance(value, np.random.Generator):
            setattr(twin, name, np.random.default_rng(value.integers(2**63)))
        elif isinstance(value, Layer):
            setattr(twin, name, replicate(value, own_gradients))
        elif isinstance(value, list) and value and all(isinstance(v, Layer) for v in value):
            setattr(twin, name, [replicate(v, own_gradients) for v in value])  # Sequential
    return twin


def layers_of(layer: Layer) -> Iterator[Layer]:
    """``layer`` and every layer inside it."""
    yield layer
    for value in vars(layer).values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, Layer):
                yield from layers_of(child)


class DataParallel(Layer):
    """Run ``module`` on ``threads`` slices of each batch at once, one thread per slice.

    Args:
        module: the model (usually a ``Sequential``).  Its parameters are the ones to
            optimize: ``DataParallel(model).parameters()`` returns them.
        threads: number of slices and threads (>= 1); a batch smaller than that uses
            one thread per example.

    Shape: whatever ``module`` does; the batch axis is axis 0.

    Not for layers that compute statistics over the batch (BatchNorm): each thread would
    normalise with the statistics of its slice only, so the model would train differently
    (a ValueError says so).  ``state_dict()`` and ``load_state_dict()`` are the module's,
    with the module's keys (PyTorch prefixes them with ``module.``).

    Example:
        >>> from cnn_numpy import lenet
        >>> model = DataParallel(lenet(rng=0), threads=2)
        >>> model(np.zeros((8, 1, 28, 28), dtype=np.float32)).shape
        (8, 10)
    """

    def __init__(self, module: Layer, threads: int = 2):
        if not isinstance(module, Layer):
            raise ValueError(f"DataParallel: module must be a Layer (e.g. a Sequential), "
                             f"got {module!r}")
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) \
                or threads < 1:
            raise ValueError(f"DataParallel: threads must be an int >= 1, got {threads!r}")
        for layer in layers_of(module):
            if layer.buffer_names:
                raise ValueError(
                    f"DataParallel: {layer!r} keeps statistics over the batch "
                    f"({', '.join(layer.buffer_names)}); split over threads, each slice "
                    "would be normalised on its own.  Train this model without DataParallel "
                    "(e.g. cnn-numpy train without --threads)")
        self.module, self.threads = module, int(threads)
        # replica 0 adds its gradients straight into the module's; the others into their own
        self.replicas = [replicate(module, own_gradients=t > 0) for t in range(self.threads)]
        self.pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None
        self.training = module.training

    def extra_repr(self) -> str:
        return f"threads={self.threads}"

    def __repr__(self) -> str:
        return f"DataParallel({self.module!r}, threads={self.threads})"

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
        n = len(x)
        # slice t is x[bounds[t] : bounds[t + 1]]; at most one thread per example
        self.bounds = np.linspace(0, n, min(self.threads, max(n, 1)) + 1).astype(int)
        for replica in self.replicas:
            replica.train(self.module.training)
            for p, twin in zip(self.module.parameters(), replica.parameters(), strict=True):
                twin.data = p.data  # follow the module if its arrays were replaced
        outs = self.run(lambda replica, s: replica.forward(x[s]))
        return np.concatenate(outs)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        def slice_backward(replica: Layer, s: slice) -> np.ndarray | None:
            if replica is not self.replicas[0]:
                replica.zero_grad()
            replica.needs_input_grad = self.needs_input_grad
            return replica.backward(grad_out[s])

        grads = self.run(slice_backward)
        others = self.replicas[1 : len(grads)]
        # d(loss)/d(weight) of the batch = sum over slices (the loss's 1/N is in grad_out)
        for p, *twins in zip(self.module.parameters(), *(r.parameters() for r in others),
                             strict=True):
            for twin in twins:
                p.grad += twin.grad
        return None if grads[0] is None else np.concatenate(grads)

    def run(self, work: Callable[[Layer, slice], np.ndarray]) -> list:
        """``work(replica t, slice t)`` for every slice, on the threads; results in order."""
        slices = [slice(a, b) for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True)]
        if len(slices) == 1:
            return [work(self.replicas[0], slices[0])]
        with blas_threads(1), gil_switch_interval(SWITCH_INTERVAL):
            futures = [self.pool.submit(work, replica, s)
                       for replica, s in zip(self.replicas[1:], slices[1:])]
            try:
                first = work(self.replicas[0], slices[0])   # this thread takes slice 0
            finally:
                rest = [f.result() for f in futures]        # wait for all, even on an error
        return [first, *rest]


#: Python lets one thread run Python code at a time (the GIL) and, when another thread asks
#: for it, takes it away after ``sys.getswitchinterval()``: 5 ms by default.  A thread that
#: finished a NumPy loop could idle that long while the other runs Python between its loops;
#: during DataParallel's work the interval is 0.1 ms, which keeps both cores busy (LeNet,
#: batch 64: a step 1.2-1.3x faster than at 5 ms, measured here).
SWITCH_INTERVAL = 1e-4


@contextlib.contextmanager
def gil_switch_interval(seconds: float):
    """``sys.setswitchinterval(seconds)`` inside, the previous interval restored after."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(seconds, previous))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


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
