"""Outlier exposure for the novelty score: learn how much each clue counts from held-out
training images against outliers made from them, then set the threshold again.

    held-out images --(half)--> their clues (0)  +  outliers made from them, their clues (1)
                                 -> logistic regression (combine.py)
                    --(all)-->  the threshold: refuse_rate of them score above it

The regression has a handful of weights (one per stage, two for the logits) and fits them
on thousands of images, so the threshold is set on all held-out images, not only the half
it did not see: a quantile of twice as many images moves less.

Called at the end of ``fit_novelty``; costs one forward pass over ``OUTLIERS`` made-up images.
"""

from __future__ import annotations

import numpy as np

from .combine import clue_names, clues, fit_combination
from .features import stage_features
from .outliers import make_outliers

#: made-up outliers to fit on (at most)
OUTLIERS = 2000
#: images per forward pass over them: with LeNet, the whole learned part then peaks at 40 MB
#: of arrays (48 MB at 100, over 200 MB at 500; benchmarks/novelty_cost.py)
BATCH = 50


def learn_combination(
    detector,
    model,
    X: np.ndarray,
    y: np.ndarray,
    features: list[np.ndarray],
    logits: np.ndarray,
    rng: np.random.Generator,
    outliers: int = OUTLIERS,
    batch_size: int = BATCH,
    rows: np.ndarray | None = None,
):
    """``detector`` with a learned ``combination`` and its threshold, from the held-out images
    ``X[rows]`` (normalised as in training; ``rows`` None: all of ``X``), their labels, stage
    features and logits.  Too few held-out images (under 20, or one class only), or too few
    outliers made from them, leave the detector as it is.

    Shape: X (N, C, H, W), rows (R,), y (R,), features [(R, D_s)], logits (R, classes)
    """
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    order = rng.permutation(len(rows))
    fit = order[len(rows) // 2 :]
    if len(rows) < 20 or len(np.unique(y[fit])) < 2:
        detector.unweighted = (
            f"{len(rows)} held-out images, under 20"
            if len(rows) < 20
            else "its held-out images are of one class"
        )
        return detector
    # only the images outliers are made from are copied (X[rows] whole would be 19 MB more)
    made = make_outliers(X[rows[fit]], y[fit], min(outliers, len(fit)), rng)
    if len(made) < 10:  # images so plain that every change leaves them as they were
        detector.unweighted = (
            f"only {len(made)} outliers (10 are needed) could be made from "
            f"{len(fit)} held-out images: too few, or too alike"
        )
        return detector
    made_features, made_logits = stage_features(model, made, detector.stages, batch_size)
    names = clue_names(len(detector.stages))

    def of(f: list[np.ndarray], z: np.ndarray) -> np.ndarray:
        return clues(detector.stage_scores(f), z)

    inliers = of([f[fit] for f in features], logits[fit])
    detector.combination = fit_combination(inliers, of(made_features, made_logits), names)
    detector.refuse_above_quantile(detector.combine(features, logits))
    return detector
