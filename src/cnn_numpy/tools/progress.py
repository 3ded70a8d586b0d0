"""What ``fit`` shows while it trains, beyond the epoch line: a progress bar per epoch (tqdm)
on a terminal, or a plain progress line every 30 s where the output is not one.

Callbacks like any other: ``fit(..., callbacks=[PrintEpoch(), ProgressBar()])``, or
``[PrintEpoch(), ProgressLines(every=30)]``.
"""

from __future__ import annotations

import sys
import time

from ..train import Callback


class ProgressBar(Callback):
    """A tqdm bar over each epoch's batches (on stderr), with the running mean loss."""

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        from tqdm import tqdm  # loaded only when a bar is shown

        self.bar = tqdm(total=steps, leave=False, desc=f"Epoch {epoch:02d}", unit="batch")
        self.total, self.seen = 0.0, 0

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.total, self.seen = self.total + loss, self.seen + 1
        self.bar.set_postfix(loss=f"{self.total / self.seen:.4f}", refresh=False)
        self.bar.update()

    def on_epoch_end(self, epoch: int, history) -> None:
        self.bar.close()


class ProgressLines(Callback):
    """A plain line every ``every`` seconds within an epoch (for output that is not a
    terminal: a log file, a notebook, CI), so a long epoch is never silent::

        Epoch 02 | batch 812/1875 (43%) | loss=0.1123 | 31 s
    """

    def __init__(self, every: float = 30.0, stream=None):
        self.every, self.stream = every, stream

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        self.steps, self.total, self.seen = steps, 0.0, 0
        self.start = self.last = time.monotonic()

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.total, self.seen = self.total + loss, self.seen + 1
        now = time.monotonic()
        if now - self.last >= self.every and step < self.steps:
            self.last = now
            print(
                f"Epoch {epoch:02d} | batch {step}/{self.steps} ({step / self.steps:.0%}) | "
                f"loss={self.total / self.seen:.4f} | {now - self.start:.0f} s",
                file=self.stream or sys.stdout,
                flush=True,
            )


#: seconds between the plain progress lines shown when the output is not a terminal
PROGRESS_EVERY = 30.0


def progress_display(quiet: bool = False) -> list[Callback]:
    """What ``cnn-numpy train`` shows within an epoch: a tqdm bar (on stderr) only on a
    terminal; where the output is a file or captured by CI, a plain line every
    ``PROGRESS_EVERY`` seconds; nothing with --quiet."""
    if quiet:
        return []
    if sys.stdout.isatty() and sys.stderr.isatty():
        return [ProgressBar()]
    return [ProgressLines(PROGRESS_EVERY)]
