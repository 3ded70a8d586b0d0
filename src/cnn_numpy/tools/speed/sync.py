"""BatchNorm across ``DataParallel``'s processes: every slice normalised with the whole batch's
statistics, as one process would (PyTorch calls this ``SyncBatchNorm``).

A BatchNorm layer on one slice of a batch computes its slice's per-channel numbers (count,
mean, variance; in backward two sums) and hands them to its ``sync``: the numbers of every
slice come back, in slice order, the same array in every process, and the layer combines them
(``whole_batch`` in layers/normalization.py).  The numbers travel through a pair of pipes per
worker, apart from the requests:

    worker w:      parts --up--> main                      main: its own parts + each worker's
    every worker:  <--down-- all parts, stacked                  (in slice order), sent down

Each BatchNorm of the model does this once in forward and once in backward, in the same order
in every process, since every process runs the same model.  A slice whose work fails before it
gets there sends an empty message instead, which makes every process waiting for it raise
``SliceFailed`` rather than wait forever; ``DataParallel`` then reports the slice's own error
and starts fresh workers.
"""

from __future__ import annotations

import os

import numpy as np

from ...layers.base import Layer, layers_of
from ...layers.normalization import _BatchNorm
from .messages import read_message, write_message


class SliceFailed(RuntimeError):
    """Another slice of the batch failed; its own error is the one to report."""


def synced_layers(module: Layer) -> list[Layer]:
    """The layers of ``module`` that share statistics across slices: its BatchNorms."""
    return [layer for layer in layers_of(module) if isinstance(layer, _BatchNorm)]


def check_statistics(module: Layer) -> None:
    """ValueError for a layer whose statistics over the batch cannot be shared across the
    slices: any but BatchNorm's, and BatchNorm's on Windows (no file descriptors to pass)."""
    synced = synced_layers(module)
    for layer in layers_of(module):
        if layer.buffer_names and (layer not in synced or os.name == "nt"):
            raise ValueError(
                f"DataParallel: {layer!r} keeps statistics over the batch "
                f"({', '.join(layer.buffer_names)}); split over workers, each slice "
                "would be normalised on its own.  Use this model without DataParallel "
                "(e.g. cnn-numpy train with --workers 1)"
            )


def send(stream, parts: np.ndarray | None) -> None:
    """Numbers down a pipe (None: the empty message that says this slice failed)."""
    write_message(stream, b"" if parts is None else np.ascontiguousarray(parts, "<f8").tobytes())


def receive(stream, shape: tuple[int, ...]) -> np.ndarray:
    try:
        data = read_message(stream)
    except EOFError:  # the other process is gone: its reply says why
        data = b""
    if not data:
        raise SliceFailed("DataParallel: another slice of the batch failed")
    return np.frombuffer(data, "<f8").reshape(-1, *shape)


class Pipes:
    """The two pipes between this process and one worker: ``up`` (worker -> main) and
    ``down`` (main -> worker).  Made here; the worker gets its ends by their numbers."""

    def __init__(self):
        self.up_read, self.up_write = os.pipe()
        self.down_read, self.down_write = os.pipe()
        self.worker_ends = (self.up_write, self.down_read)
        self.up = os.fdopen(self.up_read, "rb", buffering=0)
        self.down = os.fdopen(self.down_write, "wb", buffering=0)

    def started(self) -> None:
        """The worker has its ends now: close ours of them, so its exit reads as EOF here."""
        for fd in self.worker_ends:
            os.close(fd)
        self.worker_ends = ()

    def close(self) -> None:
        for end in (*self.worker_ends, self.up, self.down):
            try:
                end.close() if hasattr(end, "close") else os.close(end)
            except OSError:
                pass


class MainSync:
    """The main process's ``sync``: gathers the workers' parts, sends all of them back down.

    ``workers``: the pipes of the workers that hold a slice of this batch (set by DataParallel
    for each request; none when the batch was not split).
    """

    def __init__(self):
        self.workers: list[Pipes] = []

    def __call__(self, parts: np.ndarray) -> np.ndarray:
        gathered = [parts] + [receive(pipes.up, parts.shape)[0] for pipes in self.workers]
        whole = np.stack(gathered)  # float64, as every slice sends
        for pipes in self.workers:
            try:
                send(pipes.down, whole)
            except BrokenPipeError:  # a worker gone after it sent its numbers: its reply says why
                raise SliceFailed("DataParallel: another slice of the batch failed") from None
        return whole

    def abort(self) -> None:
        """This slice failed: release the workers that wait for the gathered numbers, and
        those still sending theirs (more than a pipe holds, 64 kB: 2,731 channels): with our
        end of their pipe closed, they get a broken pipe instead of waiting for us to read.
        The pipes are done with: DataParallel starts fresh workers after a failed exchange."""
        for pipes in self.workers:
            try:
                send(pipes.down, None)
            except OSError:  # a worker already gone
                pass
            pipes.up.close()


class WorkerSync:
    """A worker's ``sync``: its parts go up, every slice's come back down."""

    def __init__(self, up_fd: int, down_fd: int):
        self.up = os.fdopen(up_fd, "wb", buffering=0)
        self.down = os.fdopen(down_fd, "rb", buffering=0)

    def __call__(self, parts: np.ndarray) -> np.ndarray:
        try:
            send(self.up, parts)
        except BrokenPipeError:  # the main process stopped listening: a slice failed
            raise SliceFailed("DataParallel: another slice of the batch failed") from None
        return receive(self.down, parts.shape)

    def abort(self) -> None:
        """This slice failed: release the main process if it waits for our numbers."""
        try:
            send(self.up, None)
        except OSError:
            pass
