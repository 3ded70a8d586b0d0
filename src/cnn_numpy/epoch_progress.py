"""Where ``fit`` is within an epoch, so that an interrupted epoch can go on at its next batch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EpochProgress:
    """How far ``fit`` is into the current epoch: ``step`` batches done, their running sums
    (for the epoch's mean loss and accuracy), and the shuffling Generator's state at the
    epoch's start.  ``fit(..., progress=p)`` keeps ``p`` up to date after each batch; one
    saved when an epoch was interrupted makes ``fit`` go on at batch ``step + 1``: the
    epoch's shuffle is drawn again from ``shuffle_state`` and its first ``step`` batches
    are skipped, so the run computes what an unbroken run computes."""

    step: int = 0
    total_loss: float = 0.0
    correct: int = 0
    seen: int = 0
    shuffle_state: dict | None = None

    def next_epoch(self) -> None:
        """Back to batch 0: ``fit`` calls it when an epoch ends."""
        self.step, self.total_loss, self.correct, self.seen = 0, 0.0, 0, 0
        self.shuffle_state = None

    def checked(self) -> EpochProgress:
        """``self``, if it is one fit can go on from; else a ValueError saying why."""
        if not isinstance(self.step, int) or self.step < 0:
            raise ValueError(f"fit: progress.step must be a whole number >= 0, got {self.step!r}")
        if self.step > 0 and not isinstance(self.shuffle_state, dict):
            raise ValueError(
                "fit: progress.step > 0 needs shuffle_state, the shuffling Generator's "
                "bit_generator.state at that epoch's start"
            )
        return self
