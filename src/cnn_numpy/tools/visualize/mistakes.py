"""Where does it fail?  The confusion matrix and the most confident mistakes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...train import predict_proba
from .figures import display_image, hide_ticks, image_batch, subplots


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` of samples of true class i predicted as j; int64 (K, K).

    ``num_classes`` defaults to 1 + the largest label seen.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"confusion_matrix: y_true and y_pred must be 1-D of the same length, "
            f"got shapes {y_true.shape} and {y_pred.shape}"
        )
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0):
            raise ValueError(f"confusion_matrix: {name} must hold class indices (ints >= 0)")
    seen = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    k = seen if num_classes is None else int(num_classes)
    if seen > k:
        raise ValueError(f"confusion_matrix: label {seen - 1} is out of range for num_classes={k}")
    return np.bincount(k * y_true + y_pred, minlength=k * k).reshape(k, k).astype(np.int64)


def _class_names(class_names: Sequence[str] | None, k: int, where: str) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(k)]
    if len(class_names) != k:
        raise ValueError(f"{where}: {len(class_names)} class names for {k} classes")
    return [str(name) for name in class_names]


def plot_confusion_matrix(
    cm: np.ndarray, class_names: Sequence[str] | None = None, title: str | None = None
):
    """The confusion matrix as a table of coloured cells with the count in each
    (rows: true class, columns: predicted class).

    The diagonal (right answers) is blue and the mistakes red, each on its own scale: a
    scale shared with the diagonal's thousands would leave a handful of mistakes white.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(
            f"plot_confusion_matrix: expected a square (K, K) matrix, got shape {cm.shape}"
        )
    k = cm.shape[0]
    names = _class_names(class_names, k, "plot_confusion_matrix")
    from matplotlib.colors import PowerNorm
    from matplotlib.ticker import MaxNLocator

    side = 2.5 + 0.6 * k
    fig, ax = subplots(figsize=(side + 1.2, side))
    diagonal = np.eye(k, dtype=bool)
    right = np.ma.masked_where(~diagonal, cm)
    wrong = np.ma.masked_where(diagonal | (cm == 0), cm)
    ax.imshow(right, cmap="Blues", vmin=0, vmax=max(int(right.max() or 0), 1))
    worst = max(int(wrong.max() or 0), 1) if wrong.count() else 1
    # a square-root scale: one mistake among dozens still shows pink
    wrong_image = ax.imshow(wrong, cmap="Reds", norm=PowerNorm(0.5, vmin=0, vmax=worst))
    for i in range(k):
        for j in range(k):
            dark = cm[i, j] > (right.max() if i == j else worst) * 0.6
            ax.text(
                j,
                i,
                f"{cm[i, j]:d}",
                ha="center",
                va="center",
                fontsize=10 if k <= 10 else 7,
                color="white" if dark else ("0.6" if cm[i, j] == 0 else "black"),
            )
    ax.set_xticks(range(k), names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    total = int(cm.sum())
    accuracy = np.trace(cm) / total if total else float("nan")
    ax.set_title(title or f"Confusion matrix: {total} test images, accuracy {accuracy:.3f}")
    if wrong.count():  # the counts are written in the cells; the bar shows the red scale
        bar = fig.colorbar(
            wrong_image, ax=ax, fraction=0.045, pad=0.03, label="mistakes (right answers in blue)"
        )
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    fig.tight_layout()
    return fig


def plot_mistakes(
    model,
    X: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str] | None = None,
    max_images: int = 16,
    proba: np.ndarray | None = None,
):
    """A grid of misclassified images, most confident mistakes first, each titled with the
    true label, the prediction and its probability.  With no mistakes, the least confident
    correct predictions are shown instead (the ones closest to being wrong).

    Args:
        model: a Sequential (unused when ``proba`` is given).
        X, y: images (N, C, H, W) and their labels (N,).
        proba: the model's softmax outputs (N, K) if already computed.
    """
    X = image_batch(X, "plot_mistakes")
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(
            f"plot_mistakes: y must have shape ({len(X)},) for {len(X)} images, got {y.shape}"
        )
    proba = predict_proba(model, X) if proba is None else np.asarray(proba)
    if proba.shape[0] != len(X) or proba.ndim != 2:
        raise ValueError(f"plot_mistakes: proba must have shape ({len(X)}, K), got {proba.shape}")
    names = _class_names(class_names, proba.shape[1], "plot_mistakes")
    pred = proba.argmax(axis=1)
    confidence = proba[np.arange(len(X)), pred]
    wrong = np.flatnonzero(pred != y)
    if len(wrong):
        chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:max_images]
        title = f"Mistakes: {len(wrong)} of {len(X)} test images misclassified"
        if len(wrong) > len(chosen):
            title += f" (the {len(chosen)} most confident shown)"
    else:
        chosen = np.argsort(confidence, kind="stable")[:max_images]
        title = (
            f"No mistakes on {len(X)} test images; the {len(chosen)} least confident "
            "correct predictions"
        )
    cols = min(len(chosen), 8)
    rows = math.ceil(len(chosen) / cols)
    note = "(in brackets: the probability the network gave its prediction)"
    # wide enough for the title, 0.075 in a character at 10 points (one mistake: one column)
    width = max(1.65 * cols + 0.6, 0.075 * max(len(title), len(note)) + 0.4)
    fig, axes = subplots(rows, cols, figsize=(width, 2.0 * rows + 0.7), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, chosen):
        shown, cmap = display_image(X[i])
        ax.imshow(shown, cmap=cmap)
        ax.axis("on")  # a frame: a white line at the edge stays visible
        hide_ticks(ax)
        ok = pred[i] == y[i]
        ax.set_title(
            f"true: {names[y[i]]}\npred: {names[pred[i]]} ({confidence[i]:.2f})",
            fontsize=8,
            color="black" if ok else "firebrick",
        )
    fig.suptitle(f"{title}\n{note}", fontsize=10)
    fig.tight_layout()
    return fig
