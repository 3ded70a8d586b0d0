"""The answer shown in ``#answer``: a class, "not sure", or a refusal.

This is the one place that decides what the page says about an image.  ``novelty`` asks the
model file's novelty check (is this like anything the model was trained on?) where the model
has one; ``verdict`` turns the probabilities and that check into the answer.
"""

from __future__ import annotations

import numpy as np

#: below this top probability the answer is "not sure" (``cnn-numpy predict``'s default)
MIN_CONFIDENCE = 0.5


def novelty(detector, model, x: np.ndarray) -> dict | None:
    """The novelty check's verdict on one image, or None when the model has no check.

    ``detector``: the model file's novelty detector (anything with ``score(model, X)`` ->
    scores and a ``threshold`` above which an image is refused), or None.
    Shape: x (1, C, H, W), the model's input, normalised as in training.
    Returns ``{"score": float, "threshold": float, "refused": bool}``.  For a model without a
    check the page says that it cannot tell a digit from anything else.
    """
    if detector is None:
        return None
    score, threshold = float(np.asarray(detector.score(model, x))[0]), float(detector.threshold)
    # "not <=" rather than ">": a NaN score (an input nothing was fitted on) is refused
    return {"score": score, "threshold": threshold, "refused": not score <= threshold}


def verdict(
    probabilities: np.ndarray, classes: list[str], check: dict | None, dataset: str | None = None
) -> dict:
    """What ``#answer`` says, as data: ``label`` (the class, or None when refused),
    ``best`` (the most probable class), ``confidence``, ``state`` ("sure", "unsure" or
    "refused"), ``text`` (the words to show) and the novelty check's numbers."""
    best = int(np.argmax(probabilities))
    confidence = float(probabilities[best])
    name = str(classes[best])
    if check is not None and check["refused"]:
        kind = "a digit" if dataset in (None, "mnist") else "one of its classes"
        state, label, text = "refused", None, f"not {kind}"
    elif confidence < MIN_CONFIDENCE:
        state, label, text = "unsure", name, f"not sure (best guess {name})"
    else:
        state, label, text = "sure", name, name
    return {
        "label": label,
        "best": name,
        "index": best,
        "confidence": confidence,
        "state": state,
        "text": text,
        "novelty": check,
    }
