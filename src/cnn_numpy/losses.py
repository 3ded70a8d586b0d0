"""Softmax cross-entropy, the loss of every classifier here."""

from __future__ import annotations

import numpy as np

from .checks import real, real_array, whole


class CrossEntropyLoss:
    """-log softmax(logits)[target], averaged over the batch, as ``torch.nn.CrossEntropyLoss``.

    ``forward(logits (N, C), targets (N,) ints)`` returns the loss as a Python float;
    ``backward()`` returns dL/dlogits.  Targets may also be class probabilities q, floats of
    shape (N, C) (soft labels, mixup, distillation), as in PyTorch: q then takes onehot's place
    below, ``ignore_index`` does not apply, and 'mean' divides by N.

    Args (PyTorch's, with its defaults):
        weight: None, or (C,) a weight for each class: a sample counts w[target] times.
        ignore_index: a target value that counts for nothing (e.g. an unlabelled sample).
        reduction: 'mean' (divided by the summed weights w[target] of the counted samples,
            N without weights) or 'sum'.  ('none', a loss per sample, is not implemented.)
        label_smoothing: eps in [0, 1): the target is (1 - eps) * onehot + eps / C.

    All of them are one formula: with a[n, c] = how much -log p[n, c] counts,

        a[n, c] = w[c] * ((1 - eps) * onehot[n, c] + eps / C)   (0 for an ignored sample)
        L = sum_{n,c} a[n, c] * -log p[n, c] / D,   D = sum_n w[target_n] ('mean') or 1 ('sum')
        dL/dlogits[n] = (p[n] * sum_c a[n, c] - a[n]) / D

    which for the defaults is (softmax(logits) - onehot(targets)) / N.
    """

    probs = targets = None  # what forward keeps for backward

    def __init__(
        self,
        weight=None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        owner = "CrossEntropyLoss"
        self.weight = None if weight is None else class_weights(weight)
        self.ignore_index = whole(ignore_index, "ignore_index", owner, low=-(2**63))
        if reduction not in ("mean", "sum"):
            raise ValueError(
                f"{owner}: reduction must be 'mean' or 'sum', got {reduction!r}"
                + (
                    " ('none', a loss per sample, is not implemented here: forward returns "
                    "one number and backward() takes no gradient)"
                    if reduction == "none"
                    else ""
                )
            )
        self.reduction = reduction
        self.label_smoothing = real(label_smoothing, "label_smoothing", owner, 0, 1, high_open=True)

    def __call__(self, logits: np.ndarray, targets: np.ndarray) -> float:
        return self.forward(logits, targets)

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        logits = real_array(logits, "logits", "CrossEntropyLoss", finite=False)
        targets = self.checked_targets(logits, np.asarray(targets))
        # log-softmax with the max subtracted first: exp never overflows
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.a, self.denominator = self.target_weights(targets, logits.shape[1], log_probs.dtype)
        self.probs, self.targets = np.exp(log_probs), targets
        return float(-(self.a * log_probs).sum() / self.denominator)

    def checked_targets(self, logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """targets (N,), integer classes in [0, C) or ``ignore_index``, else a ValueError."""
        if logits.ndim != 2 or logits.shape[0] == 0:
            raise ValueError(
                f"CrossEntropyLoss expects logits of shape (N, C) with N >= 1, got "
                f"shape {logits.shape}"
            )
        N, C = logits.shape
        if targets.shape == (N, C) and targets.dtype.kind == "f":  # class probabilities
            return real_array(targets, "targets (class probabilities)", "CrossEntropyLoss")
        if targets.shape != (N,):
            raise ValueError(
                f"CrossEntropyLoss: logits have shape {logits.shape} but targets "
                f"have shape {targets.shape}; expected ({N},), one label per row (or "
                f"({N}, {C}) float class probabilities)"
            )
        if not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(
                f"CrossEntropyLoss: targets must be integer class indices, got "
                f"dtype {targets.dtype} (or class probabilities, floats of shape ({N}, {C}))"
            )
        counted = targets[targets != self.ignore_index]
        if len(counted) and (counted.min() < 0 or counted.max() >= C):
            raise ValueError(
                f"CrossEntropyLoss: targets must be in [0, {C}) for {C} classes (or "
                f"ignore_index={self.ignore_index}), got values from {counted.min()} to "
                f"{counted.max()}"
            )
        if self.weight is not None and len(self.weight) != C:
            raise ValueError(
                f"CrossEntropyLoss: weight has {len(self.weight)} entries, one per class, "
                f"but the logits have {C} classes"
            )
        if self.reduction == "mean" and not len(counted):
            raise ValueError(
                f"CrossEntropyLoss: every target is ignore_index={self.ignore_index}, and the "
                "mean over no samples is undefined (PyTorch gives nan)"
            )
        return targets

    def target_weights(self, targets: np.ndarray, C: int, dtype) -> tuple[np.ndarray, float]:
        """a (N, C), how much each -log p[n, c] counts, and the denominator D (see above)."""
        N, eps = len(targets), self.label_smoothing
        w = np.ones(C, dtype) if self.weight is None else self.weight.astype(dtype)
        if targets.ndim == 2:  # probabilities q: q in place of onehot, and D = N (PyTorch's)
            a = ((1 - eps) * targets.astype(dtype) + eps / C) * w
            return a, float(N) if self.reduction == "mean" else 1.0
        counted = targets != self.ignore_index  # (N,)
        a = np.zeros((N, C), dtype)
        a[np.flatnonzero(counted), targets[counted]] = 1 - eps  # (1 - eps) * onehot
        a += eps / C
        a *= w * counted[:, None]  # w[c], and 0 for an ignored sample
        mean = self.reduction == "mean"
        return a, float(w[targets[counted]].sum()) if mean else 1.0

    def backward(self) -> np.ndarray:
        if self.probs is None:
            raise RuntimeError("CrossEntropyLoss: backward() needs a forward() first")
        grad = self.probs * self.a.sum(axis=1, keepdims=True) - self.a  # p * sum(a) - a
        return grad / np.asarray(self.denominator, dtype=grad.dtype)


def class_weights(weight) -> np.ndarray:
    """CrossEntropyLoss's ``weight``: a 1-D array of finite numbers >= 0, at least one > 0."""
    weight = real_array(weight, "weight", "CrossEntropyLoss").astype(np.float64)
    if weight.ndim != 1 or (weight < 0).any() or not weight.any():
        raise ValueError(
            "CrossEntropyLoss: weight must be a 1-D array of numbers >= 0, one per class, "
            f"not all 0, got {weight!r:.80}"
        )
    return weight
