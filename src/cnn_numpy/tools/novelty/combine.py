"""How much each clue counts: a logistic regression, fitted on held-out training images
against outliers made from them (``outliers.py``), that turns a few cheap clues into one
novelty score.

    clues(x) = [log r_1 .. log r_S,     each stage's distance over its scale (detector.py)
                margin, energy]         the logits' top-two gap and their logsumexp
    t(x)     = w . (clip(clues(x)) - mean) / std + b    log-odds of "made-up outlier"
    score(x) = log(1 + exp(t(x)))                        positive: about 0 for a typical
                                                         image, about t(x) far from them

The weights come from a few Newton steps on the log-likelihood (held-out images 0, outliers
1, each side weighing half, a small L2 penalty), with the distances' weights kept >= 0 (an
image farther from the training features never looks more like them).  The logit clues are
clipped to the range seen in the fit, so that a logit larger than any seen cannot outweigh
the distances.  The threshold is then set on other held-out images, as before.

Input statistics (ink share, stroke width, Euler number) were tried as clues and left out:
they made smooth textures and clothes look like digits (docs/novelty.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOGIT_CLUES = ("margin", "energy")
#: the L2 penalty on the standardised weights (the loss is a mean over the images)
PENALTY = 1e-3
NEWTON_STEPS = 25
#: the upper clip of a distance clue: none in practice (log of a distance ratio)
NO_LIMIT = 1e6


@dataclass
class Combination:
    """A fitted logistic regression over the clues; ``score`` gives log(1 + the odds that an
    image is an outlier): positive like the stages' root mean square, log 2 at even odds."""

    names: list[str]
    low: np.ndarray  # (K,) each clue is clipped to [low, high] first
    high: np.ndarray  # (K,)
    mean: np.ndarray  # (K,) the clues' mean over the fit set
    std: np.ndarray  # (K,) ...and their standard deviation
    weights: np.ndarray  # (K,) weights of the standardised clues
    bias: float

    def __post_init__(self) -> None:
        for name in ("low", "high", "mean", "std", "weights"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64))

    def score(self, clues: np.ndarray) -> np.ndarray:
        """Shape: (N, K) -> (N,)"""
        if clues.ndim != 2 or clues.shape[1] != len(self.weights):
            raise ValueError(
                f"novelty: the combination weighs {len(self.weights)} clues, got {clues.shape}"
            )
        log_odds = (np.clip(clues, self.low, self.high) - self.mean) / self.std @ self.weights
        return np.logaddexp(0.0, log_odds + self.bias)  # log(1 + e^t), no overflow


def clue_names(stages: int) -> list[str]:
    """The clues' names for ``stages`` stages, in the order ``clues`` computes them."""
    return [f"log r{s}" for s in range(stages)] + list(LOGIT_CLUES)


def clues(stage_scores: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Every clue of each image.  Shape: (N, S), (N, classes) -> (N, S + 2) float64"""
    z = logits.astype(np.float64)
    top = np.sort(z, axis=1)[:, -2:] if z.shape[1] > 1 else np.c_[z, z]
    peak = z.max(axis=1, keepdims=True)
    energy = peak[:, 0] + np.log(np.exp(z - peak).sum(axis=1))  # logsumexp, no overflow
    distances = np.log(np.maximum(stage_scores, 1e-12))
    return np.column_stack([distances, top[:, 1] - top[:, 0], energy])


def fit_combination(
    inliers: np.ndarray, outliers: np.ndarray, names: list[str], free: int = len(LOGIT_CLUES)
) -> Combination:
    """Logistic regression of "outlier" on the clues of held-out training images (0) and of
    made-up outliers (1), each side weighing half; the distances' weights (all clues but the
    last ``free``, the logit clues) kept >= 0 by dropping any that comes out negative and
    fitting again.  Shape: (N, K), (M, K) -> Combination"""
    both = np.concatenate([inliers, outliers]).astype(np.float64)
    k = both.shape[1]
    distances = k - free
    low, high = both.min(axis=0), both.max(axis=0)
    high[:distances] = NO_LIMIT
    target = np.r_[np.zeros(len(inliers)), np.ones(len(outliers))]
    weight = np.r_[
        np.full(len(inliers), 0.5 / len(inliers)), np.full(len(outliers), 0.5 / len(outliers))
    ]
    mean, std = both.mean(axis=0), both.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    z = np.column_stack([(both - mean) / std, np.ones(len(both))])  # (N + M, K + 1)
    used = np.ones(k + 1, dtype=bool)
    while True:
        beta = newton(z[:, used], target, weight)
        full = np.zeros(k + 1)
        full[used] = beta
        negative = np.flatnonzero(full[:distances] < 0)
        if len(negative) == 0:
            break
        used[negative] = False
    return Combination(list(names), low, high, mean, std, full[:-1], float(full[-1]))


def newton(z: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weights minimising the weighted logistic loss plus PENALTY/2 |beta|^2 (the last column,
    the bias, unpenalised).  Shape: (N, K), (N,), (N,) -> (K,)"""
    beta = np.zeros(z.shape[1])
    ridge = np.full(z.shape[1], PENALTY)
    ridge[-1] = 0.0
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-np.clip(z @ beta, -30, 30)))
        gradient = z.T @ (weight * (p - target)) + ridge * beta
        hessian = (z * (weight * p * (1 - p))[:, None]).T @ z + np.diag(ridge)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta
