"""Ctrl-C during ``cnn-numpy train``: stop at the end of the batch under way and save the run
there, within the epoch, so that ``--resume`` goes on at the next batch.

``StopAtBatchEnd`` is a ``fit`` callback and a SIGINT handler for the block it is installed
around: the first Ctrl-C (or the live page's Stop) asks for a stop, which happens when the batch
ends, where the weights, the optimizer and the epoch's ``EpochProgress`` agree; a second
Ctrl-C stops at once (the run is then what was last saved).  ``save_interrupted`` writes the
checkpoint of the interrupted epoch (model.npz and best.npz keep the last finished epoch).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ...train import Callback
from ..saving.checkpoint import BEST, CHECKPOINT, LAST, interrupts_deferred, save_checkpoint
from .common import error_message, print_error, writing


class StopAtBatchEnd(Callback):
    """The first Ctrl-C stops training when the batch under way ends; a second one at once."""

    def __init__(self) -> None:
        self.requested = False  # a Ctrl-C came: stop at the next batch's end
        self.forced = False  # a second one came: stopped wherever the loop was

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """This object handles SIGINT within the block (only the main thread can)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame) -> None:
            if self.requested:
                self.forced = True
                raise KeyboardInterrupt
            self.requested = True
            print(
                "\nStopping at the end of this batch (Ctrl-C again to stop at once)...",
                file=sys.stderr,
                flush=True,
            )

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch: int, history) -> None:  # a Ctrl-C during the test pass
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def terminated_as_exit() -> Iterator[None]:
    """SIGTERM within the block (``kill``, a scheduler, a container stopping) ends the process
    as ``sys.exit(143)`` does, 143 being how a shell reports it: ``finally`` blocks and exit
    handlers run, so DataParallel's workers stop and its shared-memory files go (SIGTERM's
    default action ends the process at once, leaving them in /dev/shm)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        print("\nTerminated.", file=sys.stderr, flush=True)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def save_interrupted(run_dir: Path, training, card: dict) -> None:
    """The checkpoint of an epoch stopped at a batch's end: weights, optimizer, random states
    and the epoch's progress (model.npz and best.npz stay at the last finished epoch)."""
    t = training
    with interrupts_deferred():  # a Ctrl-C while it is written waits until it is whole
        save_checkpoint(
            run_dir / CHECKPOINT,
            t.model,
            t.optimizer,
            t.history,
            t.rng,
            t.scheduler,
            progress=t.progress,
            **card,
        )


def save_after_death(err: Exception, run_dir: Path, training, card: dict, steps: int) -> int:
    """A worker process died mid-epoch (``kill -9``, out of memory): the weights, optimizer and
    the epoch's progress are still those of the last batch's end (no step followed), so the
    run is saved there as at a Ctrl-C; the error and how to resume, exit status 1."""
    with writing(f"save the interrupted epoch into {run_dir}"):
        save_interrupted(run_dir, training, card)
    where = where_it_stopped(run_dir, len(training.history), training.progress.step, steps)
    print_error(f"{error_message(err)}\n{where}; continue with: cnn-numpy train --resume {run_dir}")
    return 1


def where_it_stopped(run_dir: Path, epochs_done: int, step: int, steps: int) -> str:
    """``RUN holds the run after batch k of S in epoch E (checkpoint.npz; ...)``."""
    files = [name for name in (LAST, BEST) if (run_dir / name).exists()]
    if step == 0:
        files = [CHECKPOINT, *files]
        return f"{run_dir} holds the run after epoch {epochs_done} ({', '.join(files)})"
    models = f"; {' and '.join(files)}: after epoch {epochs_done}" if files else ""
    return (
        f"{run_dir} holds the run after batch {step} of {steps} in epoch {epochs_done + 1} "
        f"({CHECKPOINT}{models})"
    )
