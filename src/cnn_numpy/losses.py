"""Softmax cross-entropy, the loss of every classifier here."""

from __future__ import annotations

import numpy as np

from .checks import real_array


class CrossEntropyLoss:
    """Mean over the batch of -log softmax(logits)[target], as ``torch.nn.CrossEntropyLoss``.

    ``forward(logits (N, C), targets (N,) ints)`` returns the loss as a Python float;
    ``backward()`` returns dL/dlogits = (softmax(logits) - onehot(targets)) / N.
    """

    probs = targets = None  # what forward keeps for backward

    def __call__(self, logits: np.ndarray, targets: np.ndarray) -> float:
        return self.forward(logits, targets)

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        logits = real_array(logits, "logits", "CrossEntropyLoss", finite=False)
        targets = np.asarray(targets)
        if logits.ndim != 2 or logits.shape[0] == 0:
            raise ValueError(
                f"CrossEntropyLoss expects logits of shape (N, C) with N >= 1, got "
                f"shape {logits.shape}"
            )
        N, C = logits.shape
        if targets.shape != (N,):
            raise ValueError(
                f"CrossEntropyLoss: logits have shape {logits.shape} but targets "
                f"have shape {targets.shape}; expected ({N},), one label per row"
            )
        if not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(
                f"CrossEntropyLoss: targets must be integer class indices, got "
                f"dtype {targets.dtype}"
            )
        if N and (targets.min() < 0 or targets.max() >= C):
            raise ValueError(
                f"CrossEntropyLoss: targets must be in [0, {C}) for {C} classes, "
                f"got values from {targets.min()} to {targets.max()}"
            )
        # log-softmax with the max subtracted first: exp never overflows
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.probs, self.targets = np.exp(log_probs), targets
        return float(-log_probs[np.arange(N), targets].mean())

    def backward(self) -> np.ndarray:
        if self.probs is None:
            raise RuntimeError("CrossEntropyLoss: backward() needs a forward() first")
        N = len(self.targets)
        grad = self.probs.copy()
        grad[np.arange(N), self.targets] -= 1  # p - onehot(y)
        return grad / np.asarray(N, dtype=grad.dtype)  # mean over the batch
