"""``History``: what ``fit`` returns, one list entry per epoch (as Keras's History); the
plots and the report read only this."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """Per-epoch numbers, one list entry per epoch (``test_acc`` and ``test_loss`` are None
    without test data).  ``loss`` and ``train_acc`` are running means over the epoch's batches."""

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    test_loss: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.test_loss:  # a History made without test losses: None for each epoch
            self.test_loss = [None] * len(self.epoch)

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict[str, list]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, list]) -> History:
        """The inverse of ``as_dict``; ValueError if ``d`` is not one (a damaged file)."""
        keys = ("epoch", "loss", "train_acc", "test_acc", "seconds", "test_loss")
        lists = {k: d.get(k, []) for k in keys} if isinstance(d, dict) else {}
        n = len(lists.get("epoch", ()))
        if (
            not all(
                isinstance(v, list) and len(v) in (n, 0 if k == "test_loss" else n)
                for k, v in lists.items()
            )
            or not lists
            or not all(
                v is None or isinstance(v, (int, float)) and math.isfinite(v)
                for values in lists.values()
                for v in values
            )
        ):
            raise ValueError(
                f"a History is lists of numbers of one length under the keys "
                f"{', '.join(keys)}; got {str(d)[:120]}"
            )
        return cls(**lists)

    def format_epoch(self, i: int = -1) -> str:
        """The seed's line: ``Epoch 01 | loss=0.6931 | train_acc=0.850 | test_acc=0.840``."""
        line = (
            f"Epoch {self.epoch[i]:02d} | loss={self.loss[i]:.4f} | "
            f"train_acc={self.train_acc[i]:.3f}"
        )
        if self.test_acc[i] is not None:
            line += f" | test_acc={self.test_acc[i]:.3f}"
        return line
