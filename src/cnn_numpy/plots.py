"""Pictures of a network: training curves, filters, feature maps, confusion matrix, mistakes.

Every ``plot_*`` function returns a matplotlib ``Figure`` (so it shows in a notebook and saves
with ``fig.savefig(path)``); they read only what they are given (a History, a model, arrays).
Without a display (a server, CI) matplotlib's non-interactive Agg backend is used; a backend
the user already chose (a notebook's inline one, say) is never changed.
"""

from __future__ import annotations

import functools
import io
import math
import os
import sys
from collections.abc import Sequence

import numpy as np

from .layers import Conv2d, Layer
from .train import History, predict_proba


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _pyplot():
    """``matplotlib.pyplot``, choosing Agg first when there is no display and nobody chose."""
    import matplotlib

    if ("matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND")
            and not _has_display()):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@functools.cache
def _inline_figure_class():
    """A Figure that a notebook (inline backend) draws once, not twice."""
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        def _ipython_display_(self):
            # Returned as a cell's value, the figure is displayed here; without this, pyplot
            # would display it a second time at the end of the cell (it shows every open
            # figure).  Closing it in pyplot after the first display prevents that.
            import matplotlib.pyplot as plt
            from IPython.display import Image, display

            buf = io.BytesIO()
            self.savefig(buf, format="png", bbox_inches="tight")
            display(Image(buf.getvalue()))
            plt.close(self)

    return InlineFigure


def _subplots(*args, **kwargs):
    """``plt.subplots``, so ``plt.show()`` shows the figure; in a notebook, shown once."""
    import matplotlib

    plt = _pyplot()
    if "inline" in matplotlib.get_backend():
        kwargs["FigureClass"] = _inline_figure_class()
    return plt.subplots(*args, **kwargs)


def _as_history(history) -> History:
    if isinstance(history, History):
        return history
    if isinstance(history, dict):
        return History.from_dict(history)
    raise TypeError(f"plot_history: expected a History or its as_dict(), got {type(history)}")


def _display_image(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(C, H, W) -> something imshow draws: (H, W) in gray, or (H, W, 3) colour in [0, 1]."""
    if image.shape[0] == 3:
        rgb = image.transpose(1, 2, 0).astype(np.float64)          # (H, W, 3)
        low, high = rgb.min(), rgb.max()
        return (rgb - low) / (high - low) if high > low else np.zeros_like(rgb), None
    return image[0], "gray"


def _image_batch(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"{name}: expected images of shape (N, C, H, W) or one image (C, H, W), "
                         f"got shape {x.shape}")
    return x


def _hide_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


# --- did it learn? ----------------------------------------------------------------------------

def plot_history(history: History | dict, title: str | None = None):
    """Loss (left) and accuracy (right) per epoch, train vs test, sharing the epoch axis.

    Args:
        history: what ``fit`` returned, or ``load_history(run_dir)``, or its ``as_dict()``.
        title: figure title (default: the final numbers).
    """
    history = _as_history(history)
    if len(history) == 0:
        raise ValueError("plot_history: the history is empty (no epochs were trained)")
    from matplotlib.ticker import MaxNLocator

    fig, (ax_loss, ax_acc) = _subplots(1, 2, figsize=(10, 4), sharex=True)
    epochs = history.epoch
    marker = "o" if len(epochs) <= 30 else None
    ax_loss.plot(epochs, history.loss, marker=marker, label="train")
    test_loss = getattr(history, "test_loss", None)
    if test_loss and any(v is not None for v in test_loss):
        ax_loss.plot(epochs, [np.nan if v is None else v for v in test_loss], marker=marker,
                     label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_loss.set_ylim(bottom=0)

    ax_acc.plot(epochs, history.train_acc, marker=marker, label="train")
    if any(v is not None for v in history.test_acc):
        ax_acc.plot(epochs, [np.nan if v is None else v for v in history.test_acc],
                    marker=marker, label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title is None:
        title = f"After {history.epoch[-1]} epochs: " + history.format_epoch().split(" | ", 1)[1]
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- what did it learn? -----------------------------------------------------------------------

def conv_layers(model) -> list[tuple[int, Conv2d]]:
    """``(index, layer)`` for every Conv2d of a Sequential, in order."""
    layers = [model] if isinstance(model, Layer) and not hasattr(model, "layers") else model.layers
    return [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, Conv2d)]


def _pick_conv(model, layer: int | None) -> tuple[int, Conv2d]:
    convs = conv_layers(model)
    if not convs:
        raise ValueError("plot_filters: the model has no Conv2d layer")
    if layer is None:
        return convs[0]
    for index, conv in convs:
        if index == layer:
            return index, conv
    raise ValueError(f"plot_filters: layer {layer} is not a Conv2d; the Conv2d layers are at "
                     f"indices {[i for i, _ in convs]}")


def plot_filters(model, layer: int | None = None, max_filters: int = 64):
    """The kernels of one Conv2d layer as images (default: the first conv layer).

    One picture per filter when the layer sees 1 (gray) or 3 (colour) input channels, as the
    first layer does: red = positive weight, blue = negative (for 3 input channels, the
    kernel as an RGB image, mid-grey = 0).  A deeper layer has a kernel for
    every (filter, input channel) pair; those are drawn as one grid, a row per filter.

    Args:
        model: a Sequential (or a single Conv2d).
        layer: index of the Conv2d in the Sequential (``model[layer]``); None = the first.
        max_filters: draw at most this many filters (the first ones).
    """
    index, conv = _pick_conv(model, layer)
    weight = conv.weight.data[:max_filters].astype(np.float64)     # (F, C_in, kh, kw)
    F, C, kh, kw = weight.shape
    name = f"layer {index}: {conv!r}"
    shown = f" (first {F} of {conv.out_channels})" if F < conv.out_channels else ""
    limit = float(np.abs(weight).max()) or 1.0
    if C in (1, 3):
        cols = min(F, 8)
        rows = math.ceil(F / cols)
        fig, axes = _subplots(rows, cols, figsize=(1.4 * cols + 1.2, 1.5 * rows + 0.9),
                                 squeeze=False)
        for f, ax in enumerate(axes.flat):
            ax.axis("off")
            if f >= F:
                continue
            if C == 3:
                kernel = weight[f].transpose(1, 2, 0)                  # (kh, kw, 3)
                ax.imshow((kernel / limit + 1) / 2, interpolation="nearest")
            else:
                image = ax.imshow(weight[f, 0], cmap="RdBu_r", vmin=-limit, vmax=limit,
                                  interpolation="nearest")
            ax.set_title(f"filter {f}", fontsize=9)
        if C == 1:
            fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
        fig.suptitle(f"Filters of {name}{shown}", fontsize=10)
        return fig
    # many input channels: a mosaic, one kh x kw tile per (filter, input channel), 1 px apart
    mosaic = np.full((F * (kh + 1) - 1, C * (kw + 1) - 1), np.nan)
    for f in range(F):
        for c in range(C):
            top, left = f * (kh + 1), c * (kw + 1)
            mosaic[top : top + kh, left : left + kw] = weight[f, c]
    fig, ax = _subplots(figsize=(min(2 + 0.35 * C * (kw + 1) / 4, 14),
                                    min(1.5 + 0.35 * F * (kh + 1) / 4, 16)))
    image = ax.imshow(mosaic, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ticks_c = range(0, C, max(1, C // 8))
    ticks_f = range(0, F, max(1, F // 16))
    ax.set_xticks([c * (kw + 1) + (kw - 1) / 2 for c in ticks_c], [str(c) for c in ticks_c])
    ax.set_yticks([f * (kh + 1) + (kh - 1) / 2 for f in ticks_f], [str(f) for f in ticks_f])
    ax.set(xlabel="input channel", ylabel="filter (output channel)")
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    ax.set_title(f"Filters of {name}{shown}\none {kh}x{kw} kernel per (filter, input channel)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def feature_maps(model, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Run one image through the layers, in eval mode; returns ``(label, maps)`` for every
    stage whose output is still an image stack (conv, ReLU, pool), maps of shape (C, H, W)."""
    x = _image_batch(x, "feature_maps")
    if len(x) != 1:
        raise ValueError(f"feature_maps: pass one image (C, H, W) or (1, C, H, W), got {len(x)}")
    convs = conv_layers(model)
    if convs and x.shape[1] != convs[0][1].in_channels:
        raise ValueError(f"feature_maps: the image has {x.shape[1]} channels, the first Conv2d "
                         f"expects {convs[0][1].in_channels} (shape (C, H, W))")
    was_training = model.training
    model.eval()
    stages = []
    try:
        for i, layer in enumerate(model.layers):
            x = layer.forward(x)
            if x.ndim != 4:
                break
            stages.append((f"{i}: {type(layer).__name__}", np.asarray(x[0])))
    finally:
        model.train(was_training)
    return stages


def plot_feature_maps(model, x: np.ndarray, max_maps: int = 8, title: str | None = None):
    """One image and the activation maps after each conv/ReLU/pool stage, a row per stage,
    each row titled with its layer and output shape (C, H, W).

    Args:
        model: a Sequential.
        x: one image, (C, H, W) or (1, C, H, W).
        max_maps: channels drawn per stage (the first ones).
    """
    image = _image_batch(x, "plot_feature_maps")
    stages = feature_maps(model, image)
    # at least 4 columns, so that the titles fit even above a layer of 1 or 2 channels
    cols = max(4, min(max_maps, max(maps.shape[0] for _, maps in stages) if stages else 1))
    rows = 1 + len(stages)
    width, height = 1.3 * cols + 0.3, 1.6 * rows + 0.9                # inches
    fig, axes = _subplots(rows, cols, figsize=(width, height), squeeze=False)
    # fixed margins, not tight_layout: the long row titles may run over the empty space
    fig.subplots_adjust(left=0.15 / width, right=1 - 0.15 / width, top=1 - 0.9 / height,
                        bottom=0.2 / height, wspace=0.08, hspace=0.45)
    for ax in axes.flat:
        ax.axis("off")
    shown, cmap = _display_image(image[0])
    axes[0, 0].imshow(shown, cmap=cmap)
    axes[0, 0].axis("on")
    _hide_ticks(axes[0, 0])
    axes[0, 0].set_title(f"input {tuple(image.shape[1:])}", fontsize=9, loc="left")
    for row, (label, maps) in enumerate(stages, 1):
        low, high = float(maps.min()), float(maps.max())      # one colour scale per stage
        for c in range(min(cols, maps.shape[0])):
            ax = axes[row, c]
            ax.imshow(maps[c], cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
            ax.axis("on")
            _hide_ticks(ax)
            ax.set_xlabel(f"ch {c}", fontsize=7, labelpad=1)
        more = f", channels 0-{cols - 1} shown" if maps.shape[0] > cols else ""
        axes[row, 0].set_title(f"{label} -> {tuple(maps.shape)}{more}", fontsize=9, loc="left")
    fig.suptitle((title or "Feature maps: what each layer sees")
                 + "\n(yellow = strong activation, dark = none; one colour scale per row)",
                 fontsize=10)
    return fig


# --- where does it fail? ----------------------------------------------------------------------

def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` of samples of true class i predicted as j; int64 (K, K).

    ``num_classes`` defaults to 1 + the largest label seen.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true and y_pred must be 1-D of the same length, "
                         f"got shapes {y_true.shape} and {y_pred.shape}")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0):
            raise ValueError(f"confusion_matrix: {name} must hold class indices (ints >= 0)")
    seen = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    k = seen if num_classes is None else int(num_classes)
    if seen > k:
        raise ValueError(f"confusion_matrix: label {seen - 1} is out of range for "
                         f"num_classes={k}")
    return np.bincount(k * y_true + y_pred, minlength=k * k).reshape(k, k).astype(np.int64)


def _class_names(class_names: Sequence[str] | None, k: int, where: str) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(k)]
    if len(class_names) != k:
        raise ValueError(f"{where}: {len(class_names)} class names for {k} classes")
    return [str(name) for name in class_names]


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str] | None = None,
                          title: str | None = None):
    """The confusion matrix as a table of coloured cells with the count in each
    (rows: true class, columns: predicted class)."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"plot_confusion_matrix: expected a square (K, K) matrix, got shape "
                         f"{cm.shape}")
    k = cm.shape[0]
    names = _class_names(class_names, k, "plot_confusion_matrix")
    side = 2.5 + 0.6 * k
    fig, ax = _subplots(figsize=(side + 1.2, side))
    image = ax.imshow(cm, cmap="Blues", vmin=0)
    threshold = cm.max() / 2
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]:d}", ha="center", va="center", fontsize=10 if k <= 10 else 7,
                    color="white" if cm[i, j] > threshold else "black")
    ax.set_xticks(range(k), names, rotation=45 if k > 4 else 0,
                  ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    total = int(cm.sum())
    accuracy = np.trace(cm) / total if total else float("nan")
    ax.set_title(title or f"Confusion matrix: {total} test images, accuracy {accuracy:.3f}")
    fig.colorbar(image, ax=ax, shrink=0.8, label="images")
    fig.tight_layout()
    return fig


def plot_mistakes(model, X: np.ndarray, y: np.ndarray, class_names: Sequence[str] | None = None,
                  max_images: int = 16, proba: np.ndarray | None = None):
    """A grid of misclassified images, most confident mistakes first, each titled with the
    true label, the prediction and its probability.  With no mistakes, the least confident
    correct predictions are shown instead (the ones closest to being wrong).

    Args:
        model: a Sequential (unused when ``proba`` is given).
        X, y: images (N, C, H, W) and their labels (N,).
        proba: the model's softmax outputs (N, K) if already computed.
    """
    X = _image_batch(X, "plot_mistakes")
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"plot_mistakes: y must have shape ({len(X)},) for {len(X)} images, "
                         f"got {y.shape}")
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
        title = (f"No mistakes on {len(X)} test images; the {len(chosen)} least confident "
                 "correct predictions")
    cols = min(len(chosen), 8)
    rows = math.ceil(len(chosen) / cols)
    fig, axes = _subplots(rows, cols, figsize=(1.65 * cols + 0.6, 2.0 * rows + 0.7),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, chosen):
        shown, cmap = _display_image(X[i])
        ax.imshow(shown, cmap=cmap)
        ax.axis("on")                   # a frame: a white line at the edge stays visible
        _hide_ticks(ax)
        ok = pred[i] == y[i]
        ax.set_title(f"true: {names[y[i]]}\npred: {names[pred[i]]} ({confidence[i]:.2f})",
                     fontsize=8, color="black" if ok else "firebrick")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
