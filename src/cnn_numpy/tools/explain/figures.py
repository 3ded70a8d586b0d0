"""The pictures of ``cnn-numpy explain`` and ``cnn-numpy attack`` (matplotlib, Agg).

``heat_maps``: the prepared input, then each map as a heat map over it with its colour bar.
``accuracy_plot``: accuracy against eps.  ``attack_grid``: clean / adversarial / difference
with both predictions.  ``save_figure`` writes a figure atomically.
"""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import numpy as np

from ...data.atomic import atomic_write_bytes
from ..visualize.figures import hide_ticks, pyplot

#: what a map that is one number everywhere means, said under its title (its colour bar would
#: show a made-up range): a Grad-CAM whose Σₖ αₖAᵏ is <= 0 everywhere is all 0 after the ReLU
FLAT = {
    "saliency": "no pixel moves the logit",
    "gradcam": "no positive evidence here",
    "occlusion": "no square changes p",
    "ig": "no pixel adds or takes away",
}
#: how each method's map is drawn: its title and colour map
STYLES = {
    "saliency": ("saliency |∂ logit / ∂ x|", "hot"),
    "gradcam": ("Grad-CAM", "jet"),
    "occlusion": ("occlusion: drop of p", "RdBu_r"),
    "ig": ("integrated gradients", "RdBu_r"),
}


def heat_maps(image: np.ndarray, maps: dict[str, np.ndarray], title: str):
    """``image`` (H, W) in gray (or (H, W, 3) in colour), then each of ``maps`` (name ->
    (h, w), any resolution) stretched over it, half transparent, with a colour bar."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 1 + len(maps), figsize=(3.2 * (1 + len(maps)), 3.6))
    axes = np.atleast_1d(axes)
    H, W = image.shape[:2]
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("prepared input", fontsize=9)
    for ax, (name, heat) in zip(axes[1:], maps.items()):
        label, cmap = STYLES.get(name, (name, "hot"))
        ax.imshow(image, cmap="gray", extent=(0, W, H, 0))
        if cmap == "RdBu_r":  # signed: white is zero
            bound = float(np.abs(heat).max()) or 1.0
            limits = dict(vmin=-bound, vmax=bound)
        else:  # |saliency| and Grad-CAM are >= 0: the scale starts at 0 (no evidence)
            limits = dict(vmin=0.0, vmax=float(heat.max()) or 1.0)
        shown = ax.imshow(
            heat, cmap=cmap, alpha=0.6, extent=(0, W, H, 0), interpolation="bilinear", **limits
        )
        size = f"{heat.shape[0]}x{heat.shape[1]}"
        if heat.size and np.all(heat == heat.flat[0]):  # one number: say it, no scale
            size += f", all {float(heat.flat[0]):.3g}: {FLAT.get(name, 'one value')}"
        else:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(f"{label}\n{size}", fontsize=9)
    for ax in axes:
        hide_ticks(ax)
    # a long file name must not run off the figure: wrap the title to its width (about 11
    # characters an inch at 10 pt) and keep 0.2 in a line for it above the panels' titles
    lines = textwrap.wrap(title, int(fig.get_figwidth() * 11), break_on_hyphens=False) or [""]
    fig.suptitle("\n".join(lines), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.1 + 0.2 * len(lines)) / fig.get_figheight()))
    return fig


def accuracy_plot(eps: list[float], accuracy: dict[str, list[float]], title: str):
    """Accuracy (0-1) against eps, one line per attack."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name, values in accuracy.items():
        ax.plot(eps, values, marker="o", label=name)
    ax.set_xlabel("eps (pixel units, 0-1)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    right = max(eps, default=0.0) or 0.1  # eps >= 0: no negative ticks, even for eps 0 alone
    ax.set_xlim(-0.03 * right, 1.03 * right)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def attack_grid(clean, adversarial, labels, predicted, classes, title: str, probabilities=None):
    """One row per image: clean (its prediction), adversarial (its prediction), their
    difference.  Images are (N, C, H, W) in pixel units, grey (C = 1) or colour (C = 3: the
    difference is drawn in colour too, 0 as mid grey); ``predicted`` (clean, adversarial).
    ``probabilities`` (clean, adversarial), each (N, K): each prediction's probability, and
    how far the attack moved the true class's, are written over the pictures.  The
    adversarial title says FOOLED or still right, or for an image the model got wrong before
    the attack, wrong before too or now right (that one was not fooled)."""
    plt = pyplot()
    n = len(clean)
    fig, axes = plt.subplots(n, 3, figsize=(6.3, 2.3 * n), squeeze=False)
    bound = float(np.abs(adversarial - clean).max()) or 1.0
    for i in range(n):
        before, after = classes[predicted[0][i]], classes[predicted[1][i]]
        true = classes[labels[i]]
        sure = ["", ""]
        if probabilities is not None:  # p of each answer; p(true) before -> after
            p_before, p_after = (np.asarray(p)[i] for p in probabilities)
            sure = [f" {p_before[predicted[0][i]]:.0%}", f" {p_after[predicted[1][i]]:.0%}"]
        axes[i, 0].imshow(picture(clean[i]), cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(f"clean: {before}{sure[0]}\n(true: {true})", fontsize=8)
        axes[i, 1].imshow(picture(adversarial[i]), cmap="gray", vmin=0, vmax=1)
        fooled = verdict(predicted[0][i] == labels[i], predicted[1][i] == labels[i])
        moved = ""
        if probabilities is not None:
            moved = f"\np({true}): {p_before[labels[i]]:.0%} → {p_after[labels[i]]:.0%}"
        axes[i, 1].set_title(f"adversarial: {after}{sure[1]}\n({fooled}){moved}", fontsize=8)
        difference = adversarial[i] - clean[i]  # (C, H, W)
        if len(difference) == 1:
            shown = axes[i, 2].imshow(difference[0], cmap="RdBu_r", vmin=-bound, vmax=bound)
            fig.colorbar(shown, ax=axes[i, 2], fraction=0.046, pad=0.04)
            axes[i, 2].set_title("difference", fontsize=8)
        else:  # each channel's change, +-bound stretched to the full range around grey
            axes[i, 2].imshow(picture(0.5 + 0.5 * difference / bound))
            axes[i, 2].set_title(f"difference (grey 0, ±{bound:.3g})", fontsize=8)
        for ax in axes[i]:
            hide_ticks(ax)
    fig.suptitle(title, fontsize=9)
    # 0.3 in for the title; h_pad: a three-line title clears the row above at any n
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()), h_pad=2.0)
    return fig


def verdict(right_before: bool, right_after: bool) -> str:
    """What the attack did to one image: only an image the model got right can be fooled."""
    if right_before:
        return "still right" if right_after else "FOOLED"
    return "now right" if right_after else "wrong before too"


def picture(image: np.ndarray) -> np.ndarray:
    """One image (C, H, W) in pixel units as imshow takes it: (H, W) grey, (H, W, 3) colour."""
    return image[0] if len(image) == 1 else np.clip(image.transpose(1, 2, 0), 0, 1)


def save_figure(fig, path: str | os.PathLike) -> None:
    """``fig`` at ``path`` in the format its suffix names (none: PNG), written atomically;
    the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(path).suffix.lower().removeprefix(".") or "png", dpi=90)
    pyplot().close(fig)
    atomic_write_bytes(path, buffer.getvalue())
