"""The checks on the data alone: ``labels`` and ``input_scale``."""

from __future__ import annotations

import numpy as np

from . import thresholds as T
from .findings import Finding


def check_labels(y: np.ndarray, num_classes: int) -> Finding:
    """One class only fails; classes without a sample, or a largest class more than
    ``IMBALANCE_WARN`` times the smallest, warn."""
    counts = np.bincount(y, minlength=num_classes)
    present = np.flatnonzero(counts)
    big, small = present[counts[present].argmax()], present[counts[present].argmin()]
    ratio = counts[big] / counts[small]
    data = {"counts": counts.tolist(), "num_classes": num_classes, "imbalance": float(ratio)}
    seen = (
        f"{len(y):,} labels: class {big} has the most, {counts[big]:,} "
        f"({counts[big] / len(y):.0%}), class {small} the fewest, {counts[small]:,}"
        if counts[big] != counts[small]
        else f"{len(y):,} labels, {counts[big]:,} in each of the {len(present)} classes present"
    )
    if len(present) == 1:
        return Finding(
            "labels",
            "fail",
            (
                f"All {len(y):,} labels are class {big}, of the model's {num_classes}. A network "
                f"trained on them learns one answer, '{big}', and reaches 100% without learning "
                "anything. Try: check how the labels were loaded (a slice of data sorted by class? "
                "the wrong file or column?); shuffle before taking a subset."
            ),
            data,
        )
    missing = [int(k) for k in np.flatnonzero(counts == 0)]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        return Finding(
            "labels",
            "warn",
            (
                f"{len(missing)} of the model's {num_classes} classes have no sample ({shown}); "
                f"{seen}. The network never sees those classes, so it will never predict them. "
                "Try: shuffle before taking a subset (data sorted by class loses its last classes); "
                "check that the model's number of outputs is the number of classes."
            ),
            data,
        )
    if ratio > T.IMBALANCE_WARN:
        return Finding(
            "labels",
            "warn",
            (
                f"Severe class imbalance: {seen}, {ratio:.0f}x fewer (more than "
                f"{T.IMBALANCE_WARN:g}x). Always answering {big} already scores "
                f"{counts[big] / len(y):.0%}, so accuracy hides how the rare classes do. Try: "
                "look at per-class accuracy (the confusion matrix); collect or oversample the "
                "rare classes, or undersample the common ones."
            ),
            data,
        )
    sizes = (
        f"{counts[big]:,} each"
        if ratio == 1
        else f"from {counts[small]:,} (class {small}) to {counts[big]:,} (class {big})"
    )
    return Finding(
        "labels", "ok", f"{len(y):,} labels in all {num_classes} classes, {sizes}.", data
    )


def check_input_scale(X: np.ndarray, everything: np.ndarray | None = None) -> Finding:
    """Per input channel mean and std of ``X`` (a sample) against zero mean and unit spread:
    a mean or std beyond ``SCALE_WARN`` / ``SCALE_FAIL`` (or a std below ``SPREAD_WARN`` /
    ``SPREAD_FAIL``) warns / fails.  NaN or infinite values fail, counted over ``everything``
    (all the training images; default ``X``): one bad image is easily missed by a sample."""
    X = np.asarray(X)
    everything = X if everything is None else np.asarray(everything)
    axes = (0,) + tuple(range(2, X.ndim)) if X.ndim >= 3 else None  # per channel for images
    means = np.atleast_1d(np.mean(X, axis=axes, dtype=np.float64))
    stds = np.atleast_1d(np.std(X, axis=axes, dtype=np.float64))
    low, high = float(np.min(X)), float(np.max(X))
    data = {"mean": means.tolist(), "std": stds.tolist(), "min": low, "max": high}
    finite = np.isfinite(everything).reshape(len(everything), -1).all(axis=1)
    if not finite.all():
        bad = int(np.size(everything) - np.count_nonzero(np.isfinite(everything)))
        images = np.flatnonzero(~finite)
        shown = ", ".join(map(str, images[:5])) + (", ..." if len(images) > 5 else "")
        data["nonfinite_images"] = images.tolist()
        return Finding(
            "input_scale",
            "fail",
            (
                f"The inputs hold {bad:,} NaN or infinite values, in {len(images):,} of the "
                f"{len(everything):,} images (index {shown}): every loss and gradient they touch "
                "becomes NaN, and one such image in a batch spoils the whole step. Try: find "
                "where they come from (a division by a zero std, a failed image read) and fix "
                "or drop those images: keep = np.isfinite(X).reshape(len(X), -1).all(axis=1); "
                "X, y = X[keep], y[keep]."
            ),
            data,
        )
    per = " (worst channel)" if len(means) > 1 else ""
    worst_mean, big_std, small_std = (
        float(np.max(np.abs(means))),
        float(np.max(stds)),
        float(np.min(stds)),
    )
    measured = (
        f"Inputs have mean {worst_mean:.3g} and std {big_std:.3g}{per}, values from "
        f"{low:.3g} to {high:.3g}"
    )
    if max(worst_mean, big_std) > T.SCALE_FAIL or small_std < T.SPREAD_FAIL:
        status = "fail"
    elif max(worst_mean, big_std) > T.SCALE_WARN or small_std < T.SPREAD_WARN:
        status = "warn"
    else:
        return Finding(
            "input_scale",
            "ok",
            (
                f"{measured}: close enough to zero mean and unit spread, the scale the layers' "
                "initialisation assumes."
            ),
            data,
        )
    if small_std < T.SPREAD_WARN and max(worst_mean, big_std) <= T.SCALE_WARN:
        return Finding(
            "input_scale",
            status,
            (
                f"{measured}. A std of {small_std:.2g} is far below 1: the inputs barely vary, so "
                "the first layer's gradients are tiny and it learns slowly. Try: standardise with "
                "the training set's numbers: X = cnn_numpy.normalize(X, "
                "**normalization_stats(X)) (from cnn_numpy.data)."
            ),
            data,
        )
    if low < 0 or high <= 1:  # not raw pixels: standardised with the wrong numbers, or twice
        return Finding(
            "input_scale",
            status,
            (
                f"{measured}: far from zero mean and unit spread. Values below 0 are not raw "
                "pixels: these were standardised, but with numbers that do not fit them (another "
                "data set's, or twice over). Pre-activations come out too large or off-centre. "
                "Try: standardise once, with these images' own numbers: X = "
                "cnn_numpy.normalize(X, **normalization_stats(X)) (from cnn_numpy.data)."
            ),
            data,
        )
    return Finding(
        "input_scale",
        status,
        (
            f"{measured}: far from zero mean and unit spread (raw 0-255 pixels look like this). "
            "Pre-activations come out tens of times too large: units saturate or die, the first "
            "loss is huge and the gradients unstable. Try: scale pixels to [0, 1] (X / 255), then "
            "standardise with the training set's numbers: X = cnn_numpy.normalize(X, "
            "**normalization_stats(X)) (from cnn_numpy.data)."
        ),
        data,
    )
