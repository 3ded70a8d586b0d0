"""What did it learn?  The filters of a conv layer and the feature maps of one image."""

from __future__ import annotations

import math

import numpy as np

from ...layers import Conv2d, Layer
from ...layers.base import evaluating
from .figures import display_image, hide_ticks, image_batch, subplots


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
    raise ValueError(
        f"plot_filters: layer {layer} is not a Conv2d; the Conv2d layers are at "
        f"indices {[i for i, _ in convs]}"
    )


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
    weight = conv.weight.data[:max_filters].astype(np.float64)  # (F, C_in, kh, kw)
    F, C, kh, kw = weight.shape
    name = f"layer {index}: {conv!r}"
    shown = f" (first {F} of {conv.out_channels})" if F < conv.out_channels else ""
    limit = float(np.abs(weight).max()) or 1.0
    if C in (1, 3):
        cols = min(F, 8)
        rows = math.ceil(F / cols)
        fig, axes = subplots(
            rows, cols, figsize=(1.4 * cols + 1.2, 1.5 * rows + 0.9), squeeze=False
        )
        for f, ax in enumerate(axes.flat):
            ax.axis("off")
            if f >= F:
                continue
            if C == 3:
                kernel = weight[f].transpose(1, 2, 0)  # (kh, kw, 3)
                ax.imshow((kernel / limit + 1) / 2, interpolation="nearest")
            else:
                image = ax.imshow(
                    weight[f, 0], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest"
                )
            ax.set_title(f"filter {f}", fontsize=9)
        if C == 1:
            fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
        how = "\neach kernel as an RGB picture of its weights: mid-grey = 0" if C == 3 else ""
        fig.suptitle(f"Filters of {name}{shown}{how}", fontsize=10)
        return fig
    # many input channels: a mosaic, one kh x kw tile per (filter, input channel), 1 px apart
    mosaic = np.full((F * (kh + 1) - 1, C * (kw + 1) - 1), np.nan)
    for f in range(F):
        for c in range(C):
            top, left = f * (kh + 1), c * (kw + 1)
            mosaic[top : top + kh, left : left + kw] = weight[f, c]
    fig, ax = subplots(
        figsize=(min(2 + 0.35 * C * (kw + 1) / 4, 14), min(1.5 + 0.35 * F * (kh + 1) / 4, 16))
    )
    image = ax.imshow(mosaic, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ticks_c = range(0, C, max(1, C // 8))
    ticks_f = range(0, F, max(1, F // 16))
    ax.set_xticks([c * (kw + 1) + (kw - 1) / 2 for c in ticks_c], [str(c) for c in ticks_c])
    ax.set_yticks([f * (kh + 1) + (kh - 1) / 2 for f in ticks_f], [str(f) for f in ticks_f])
    ax.set(xlabel="input channel", ylabel="filter (output channel)")
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    ax.set_title(
        f"Filters of {name}{shown}\none {kh}x{kw} kernel per (filter, input channel)", fontsize=10
    )
    fig.tight_layout()
    return fig


def feature_maps(model, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Run one image through the layers, in eval mode; returns ``(label, maps)`` for every
    stage whose output is still an image stack (conv, ReLU, pool), maps of shape (C, H, W)."""
    x = image_batch(x, "feature_maps")
    if len(x) != 1:
        raise ValueError(f"feature_maps: pass one image (C, H, W) or (1, C, H, W), got {len(x)}")
    convs = conv_layers(model)
    if convs and x.shape[1] != convs[0][1].in_channels:
        raise ValueError(
            f"feature_maps: the image has {x.shape[1]} channels, the first Conv2d "
            f"expects {convs[0][1].in_channels} (shape (C, H, W))"
        )
    stages = []
    with evaluating(model):  # afterwards each layer's mode is what it was
        for i, layer in enumerate(model.layers):
            x = layer.forward(x)
            if x.ndim != 4:
                break
            stages.append((f"{i}: {type(layer).__name__}", np.asarray(x[0])))
    return stages


def plot_feature_maps(model, x: np.ndarray, max_maps: int = 8, title: str | None = None):
    """One image and the activation maps after each conv/ReLU/pool stage, a row per stage,
    each row titled with its layer and output shape (C, H, W).

    Args:
        model: a Sequential.
        x: one image, (C, H, W) or (1, C, H, W).
        max_maps: channels drawn per stage (the first ones).
    """
    image = image_batch(x, "plot_feature_maps")
    stages = feature_maps(model, image)
    # at least 4 columns, so that the titles fit even above a layer of 1 or 2 channels
    cols = max(4, min(max_maps, max(maps.shape[0] for _, maps in stages) if stages else 1))
    rows = 1 + len(stages)
    width, height = 1.3 * cols + 0.3, 1.6 * rows + 0.9  # inches
    fig, axes = subplots(rows, cols, figsize=(width, height), squeeze=False)
    # fixed margins, not tight_layout: the long row titles may run over the empty space
    fig.subplots_adjust(
        left=0.15 / width,
        right=1 - 0.15 / width,
        top=1 - 0.9 / height,
        bottom=0.2 / height,
        wspace=0.08,
        hspace=0.45,
    )
    for ax in axes.flat:
        ax.axis("off")
    shown, cmap = display_image(image[0])
    axes[0, 0].imshow(shown, cmap=cmap)
    axes[0, 0].axis("on")
    hide_ticks(axes[0, 0])
    axes[0, 0].set_title(f"input {tuple(image.shape[1:])}", fontsize=9, loc="left")
    for row, (label, maps) in enumerate(stages, 1):
        cmap, low, high, legend = row_colours(maps)  # one colour scale per stage
        for c in range(min(cols, maps.shape[0])):
            ax = axes[row, c]
            ax.imshow(maps[c], cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
            ax.axis("on")
            hide_ticks(ax)
            ax.set_xlabel(f"ch {c}", fontsize=7, labelpad=1)
        more = f", channels 0-{cols - 1} shown" if maps.shape[0] > cols else ""
        axes[row, 0].set_title(
            f"{label} -> {tuple(maps.shape)}{more}   [{legend}]", fontsize=9, loc="left"
        )
    fig.suptitle(
        (title or "Feature maps: what each layer sees")
        + "\n(one colour scale per row; each row says what its colours mean)",
        fontsize=10,
    )
    return fig


def row_colours(maps: np.ndarray) -> tuple[str, float, float, str]:
    """(colour map, vmin, vmax, legend) for one stage's maps.  Signed values (a convolution's
    output before ReLU) get a diverging map centred on 0; values >= 0 (after ReLU or pooling)
    a map from 0.  The legend gives the scale's ends in numbers, so rows can be compared."""
    low, high = float(maps.min()), float(maps.max())
    if low < 0:
        limit = max(-low, high) or 1.0
        return "RdBu_r", -limit, limit, f"blue < 0 < red, white = 0, darkest = ±{limit:.3g}"
    top = high or 1.0
    return "viridis", 0.0, top, f"dark = 0, yellow = {top:.3g}, the row's largest value"
