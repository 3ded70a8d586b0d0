"""Do the labels follow the images?  Train on some images, measure the loss on others.

A network can memorise any labels, random ones too (Zhang et al. 2017, "Understanding deep
learning requires rethinking generalization"), so neither the tiny-batch test nor a falling
training loss shows that the labels belong to the images.  Images the network was not trained
on do: if training at a good rate does not lower their loss at all, nothing it learned from
one image carried over to another, which is what shuffled labels, or labels out of step with
their images, look like.
"""

from __future__ import annotations

import math

import numpy as np

from ...layers.base import has_batch_statistics
from . import thresholds as T
from .short_runs import endless_batches, train_step


def held_out_run(
    model,
    optimizer,
    loss,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
) -> dict | None:
    """Train at ``lr`` on all but ``LR_PROBE`` of the images for ``LR_STEPS`` steps (or one
    pass, if more), and measure the loss on those held out, in eval mode, before and after:
    ``{"before", "after", "held_out", "steps"}``; None when there are too few images to hold
    some out.  Changes ``model`` and ``optimizer``: pass copies."""
    held = min(T.LR_PROBE, len(X) // 4)
    if held < T.SIGNAL_MIN_HELD or len(X) - held < 2:
        return None
    order = rng.permutation(len(X))
    test, train = order[:held], order[held:]

    def held_out_loss() -> float:
        model.eval()
        value = loss.forward(model.forward(X[test]), y[test])
        model.train()
        return float(value)

    before = held_out_loss()
    optimizer.lr = float(lr)
    steps = max(T.LR_STEPS, math.ceil(len(train) / batch_size))
    batches = endless_batches(len(train), batch_size, rng, has_batch_statistics(model))
    model.train()
    for _, idx in zip(range(steps), batches):
        if not math.isfinite(train_step(model, optimizer, loss, X[train[idx]], y[train[idx]])):
            return None  # diverged: the rate's fault, not the labels'
    counts = np.bincount(y[train])
    share = counts[counts > 0] / len(train)
    prior = float(-np.sum(share * np.log(share)))  # the loss of answering the class shares
    return {
        "before": before,
        "after": held_out_loss(),
        "prior": prior,
        "held_out": held,
        "steps": steps,
        "lr": float(lr),
    }


def no_signal(run: dict | None) -> bool:
    """Whether the held-out loss stayed within ``LR_MIN_DROP`` of the lower of where it
    started and ``prior``, the loss of answering every image with the classes' shares (ln C
    for balanced classes): a start above that (an overconfident init) falls to it without
    learning anything about the images."""
    if run is None or not math.isfinite(run["after"]):
        return False
    baseline = min(run["before"], run["prior"])
    return run["after"] > (1 - T.LR_MIN_DROP) * baseline
