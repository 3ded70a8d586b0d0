"""What ``fit`` shows while it trains, beyond the epoch line: a progress bar per epoch (tqdm).

A ``Callback`` like any other: ``fit(..., callbacks=[PrintEpoch(), ProgressBar()])``.
"""

from __future__ import annotations

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
