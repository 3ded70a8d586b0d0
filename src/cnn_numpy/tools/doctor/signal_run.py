"""Do the labels follow the images?  The short run at your rate also measures images it
does not train on.

A network can memorise any labels, random ones too (Zhang et al. 2017, "Understanding deep
learning requires rethinking generalization"), so neither the tiny-batch test nor a falling
training loss shows that the labels belong to the images.  Images the network was not trained
on do: if training does not lower their loss below that of answering the classes' shares,
nothing it learned from one image carried over to another, which is what shuffled labels, or
labels out of step with their images, look like.  ``trial_run`` holds some images out and
calls these helpers, so the measurement costs two forward passes.
"""

from __future__ import annotations

import math

import numpy as np

from . import thresholds as T


def held_out_split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(train, held_out)`` indices: a quarter of ``n``, at most ``LR_PROBE``, held out; none
    when that would be fewer than ``SIGNAL_MIN_HELD``."""
    held = min(T.LR_PROBE, n // 4)
    if held < T.SIGNAL_MIN_HELD:
        return np.arange(n), np.arange(0)
    order = rng.permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])


def held_out_loss(model, loss, X: np.ndarray, y: np.ndarray) -> float:
    """The loss on images the run did not train on, in eval mode (no Dropout noise)."""
    model.eval()
    value = float(loss.forward(model.forward(X), y))
    model.train()
    return value


def prior_loss(y: np.ndarray) -> float:
    """The loss of answering every image with the classes' shares in ``y`` (ln C when
    balanced): what a network that learned nothing about the images can reach."""
    counts = np.bincount(y)
    share = counts[counts > 0] / len(y)
    return float(-np.sum(share * np.log(share)))


def no_signal(run: dict | None) -> bool:
    """Whether the held-out loss stayed within ``LR_MIN_DROP`` of the lower of where it
    started and ``prior``: a start above that (an overconfident init) falls to it without
    learning anything about the images."""
    if run is None or not math.isfinite(run["after"]):
        return False
    baseline = min(run["before"], run["prior"])
    return run["after"] > (1 - T.LR_MIN_DROP) * baseline
