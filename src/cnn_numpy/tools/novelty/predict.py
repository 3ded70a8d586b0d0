"""Probabilities and a novelty score together: the answer, and whether to trust it at all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...train import EVAL_BATCH
from ..saving.architecture import unwrapped
from .detector import NoveltyDetector
from .features import softmax, stage_features


@dataclass
class NoveltyPrediction:
    """What ``predict_with_novelty`` returns, one entry per image."""

    probabilities: np.ndarray  # (N, C) softmax probabilities
    predicted: np.ndarray  # (N,) int64: the most probable class
    scores: np.ndarray  # (N,) novelty scores (NaN without a detector)
    threshold: float | None  # scores above it, or NaN, are refused (None without a detector)
    refused: np.ndarray  # (N,) bool: "not one of the classes"


def predict_with_novelty(
    model, X: np.ndarray, novelty: NoveltyDetector | None, batch_size: int = EVAL_BATCH
) -> NoveltyPrediction:
    """Class probabilities and the novelty score of each image, from one pass (eval mode);
    two when the check has a reader: the probabilities from ``model``, the score from the
    reader's features.

    ``X`` is normalised as in training.  With ``novelty=None`` (a model saved without a
    detector), scores are NaN and nothing is refused.

    Shape: X (N, C, H, W) -> probabilities (N, classes), scores (N,)

    Example:
        >>> model, novelty = cnn.load("model.npz"), cnn.load_novelty("model.npz")  # doctest: +SKIP
        >>> answer = cnn.predict_with_novelty(model, x, novelty)                   # doctest: +SKIP
        >>> answer.refused[0], answer.scores[0], answer.threshold                  # doctest: +SKIP
    """
    X, model = np.asarray(X), unwrapped(model)  # a DataParallel's module: the same weights
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(
            f"predict_with_novelty: expected a batch of images (N, C, H, W), got shape {X.shape}"
        )
    reader = None if novelty is None else novelty.reader
    stages = novelty.stages if novelty is not None and reader is None else []
    if novelty is not None:
        check_fits(model, novelty)
    features, logits = stage_features(model, X, stages, batch_size)
    probabilities = softmax(logits.astype(np.float64))
    if reader is not None:  # the second pass: the reader's features and logits
        features, reader_logits = stage_features(reader, X, novelty.stages, batch_size)
    if novelty is None:
        scores, refused = np.full(len(X), np.nan), np.zeros(len(X), dtype=bool)
    else:
        try:
            scores = novelty.combine(features, logits if reader is None else reader_logits)
        except ValueError as err:
            raise ValueError(f"the novelty detector does not fit this model: {err}") from err
        refused = ~(scores <= novelty.threshold)  # a NaN score is refused, never trusted
    return NoveltyPrediction(
        probabilities=probabilities,
        predicted=probabilities.argmax(axis=1).astype(np.int64),
        scores=scores,
        threshold=None if novelty is None else novelty.threshold,
        refused=refused,
    )


def check_fits(model, novelty: NoveltyDetector) -> None:
    """A ValueError unless the detector's stages are layers of the network it reads
    (``model``, or its reader)."""
    net = novelty.reads(model)
    which = "model" if novelty.reader is None else "reader"
    count = len(getattr(net, "layers", ()))
    for stage in novelty.stages:
        if not -1 <= stage.layer < count:
            raise ValueError(
                f"the novelty detector reads layer {stage.layer}, but the {which} "
                f"has {count} layers: it was fitted for another model"
            )
