"""The report's "why the mistakes?" section: for the most confident mistakes, where the
model looked (saliency, ``cnn_numpy.explain.saliency``) for the class it said and for the
true one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..input_gradients import saliency
from .figures import display_image, hide_ticks, subplots

#: (file stem, heading, what to look for), as report.SECTIONS
SECTION = (
    "mistakes_saliency",
    "Why the mistakes? Saliency",
    "For the most confident mistakes: the image, then |d logit / d pixel| for the class the "
    "network said and for the true class (brighter: a small change there moves that score "
    "more; the two maps of a row share one colour scale, black 0 to white the value written "
    "at its right, so their brightness compares). Evidence for the wrong class sitting on one "
    "odd part of the image (a stray stroke or a gap in the ink of a digit, a strap or a heel "
    "of a shoe) is the usual story; a map that traces the whole outline says little. With no "
    "mistakes, the least confident right answers, with the class said and the runner-up.",
)


def plot_mistake_saliency(
    model,
    X: np.ndarray,
    y: np.ndarray,
    proba: np.ndarray,
    class_names: Sequence[str],
    max_images: int = 6,
):
    """One row per mistake, most confident first: image, saliency of the predicted class,
    saliency of the true class.  ``proba``: the model's softmax outputs for X (N, K).
    With no mistakes, the least confident correct answers (the closest to being wrong)."""
    pred = proba.argmax(axis=1)
    confidence = proba[np.arange(len(X)), pred]
    wrong = np.flatnonzero(pred != y)
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:max_images]
    title = f"Why the {len(chosen)} most confident mistakes?"
    other = y  # the second map: the true class, or, with no mistakes, the runner-up
    if not len(chosen):
        chosen = np.argsort(confidence, kind="stable")[:max_images]
        title = f"No mistakes; the {len(chosen)} least confident right answers"
        other = np.argsort(-proba, axis=1, kind="stable")[:, 1]  # (the true class = the said one)
    said = saliency(model, X[chosen], pred[chosen])  # (n, C, H, W)
    truth = saliency(model, X[chosen], other[chosen])
    fig, axes = subplots(len(chosen), 3, figsize=(6.6, 2.2 * len(chosen)), squeeze=False)
    for row, i in enumerate(chosen):
        image, cmap = display_image(X[i])
        axes[row, 0].imshow(image, cmap=cmap)
        axes[row, 0].set_title(
            f"true {class_names[y[i]]}, said {class_names[pred[i]]} ({confidence[i]:.2f})",
            fontsize=8,
        )
        pair = [np.abs(maps[row]).max(axis=0) for maps in (said, truth)]  # (H, W) each
        top = float(max(m.max() for m in pair)) or 1.0  # one scale for both: comparable
        for col, (shown, k) in enumerate(zip(pair, (pred[i], other[i])), 1):
            axes[row, col].imshow(shown, cmap="hot", vmin=0, vmax=top)
            runner_up = " (runner-up)" if col == 2 and other is not y else ""
            axes[row, col].set_title(f"saliency of {class_names[k]}{runner_up}", fontsize=8)
        axes[row, 2].text(
            1.04, 0.5, f"black 0\nwhite {top:.2g}", transform=axes[row, 2].transAxes,
            fontsize=7, va="center", rotation=90, ha="left",
        )  # fmt: skip
        for ax in axes[row]:
            hide_ticks(ax)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
