"""Learning-rate schedules, stepped once per epoch, with ``torch.optim.lr_scheduler``'s formulas.

Each scheduler remembers the optimizer's starting ``lr`` as ``base_lr`` and, at every
``step()``, sets ``optimizer.lr`` from the epoch count alone (the closed form), so a
resumed run lands on exactly the same rates.  ``fit(..., scheduler=...)`` calls
``step()`` after each epoch, as a PyTorch training loop does.
"""

from __future__ import annotations

import math
import numbers

from .checks import real, state_mapping, torch_defaults, whole


class LRScheduler:
    """Base class: ``lr_at(epoch)`` is the schedule; ``step()`` advances one epoch."""

    def __init__(self, optimizer):
        if not hasattr(optimizer, "lr"):
            what = repr(optimizer) if "\n" not in repr(optimizer) else type(optimizer).__name__
            hint = " (a model, not an optimizer)" if hasattr(optimizer, "backward") else ""
            raise ValueError(
                f"{type(self).__name__}: {what}{hint} has no learning rate `lr`; pass the "
                f"optimizer, e.g. {type(self).__name__}(SGD(model.parameters(), lr=0.1), ...)"
            )
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The rate set by the last ``step()`` (a list, as PyTorch: one per param group)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        name = f"{type(self).__name__} state"
        state = state_mapping(state, type(self).__name__)
        base_lr = real(state.get("base_lr"), "base_lr", name, low=0)
        last_epoch = whole(state.get("last_epoch"), "last_epoch", name)
        self.base_lr, self.last_epoch = base_lr, last_epoch
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lr={self.base_lr}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs:

    lr = base_lr * gamma ** (epoch // step_size)
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        torch_defaults("StepLR", last_epoch=last_epoch)
        if (
            isinstance(step_size, bool)
            or not isinstance(step_size, numbers.Integral)
            or step_size < 1
        ):
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.gamma = real(gamma, "gamma", "StepLR", low=0, low_open=True)
        super().__init__(optimizer)
        self.step_size = int(step_size)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs:

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    (Past T_max the cosine climbs again, as PyTorch's; set T_max to the number of epochs.)
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        torch_defaults("CosineAnnealingLR", last_epoch=last_epoch)
        if isinstance(T_max, bool) or not isinstance(T_max, numbers.Integral) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.eta_min = real(eta_min, "eta_min", "CosineAnnealingLR", low=0)
        super().__init__(optimizer)
        self.T_max = int(T_max)

    def lr_at(self, epoch: int) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine
