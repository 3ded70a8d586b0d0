"""Is the network healthy inside?  The pictures of ``diagnose`` and of a training ``Monitor``:
activation histograms per layer, dead units per filter, update ratios over steps, and the
learning-rate range test's curve.  Each reads plain numbers (a Diagnosis's ``data``, a
Monitor's records) and returns a matplotlib Figure."""

from __future__ import annotations

import math

import numpy as np

from ..doctor import thresholds as T
from .figures import subplots, whole_numbers


def _grid(count: int, cols: int, width: float, height: float):
    cols = max(1, min(cols, count))
    rows = math.ceil(count / cols)
    fig, axes = subplots(rows, cols, figsize=(width * cols, height * rows + 0.8), squeeze=False)
    for ax in axes.flat[count:]:
        ax.axis("off")
    return fig, axes.flat


def activation_note(stats: dict) -> str:
    """What matters about one layer's output: dead units, or saturation, or exact zeros."""
    if "activity" in stats:
        dead = int(np.sum(np.asarray(stats["activity"]) == 0))
        return f"{dead} of {len(stats['activity'])} units never active, {stats['zeros']:.0%} zeros"
    if stats.get("saturated") is not None:
        return f"saturated {stats['saturated']:.0%}"
    return ""


def alarming(stats: dict) -> bool:
    """A layer the doctor would fail: many dead units, or mostly saturated outputs."""
    if "activity" in stats:
        return float(np.mean(np.asarray(stats["activity"]) == 0)) >= T.DEAD_FAIL
    return stats.get("saturated") is not None and stats["saturated"] >= T.SATURATION_FAIL


def plot_activation_histograms(layers: list[dict], title: str | None = None):
    """One histogram per layer of its output values, with mean and std (as Karpathy's makemore
    lessons look at a network: a healthy layer spreads its values; a collapsed one piles them
    at 0 or at the limits).

    Args:
        layers: ``diagnosis.activations``, or the ``layers`` of a Monitor record.
    """
    if not layers:
        raise ValueError("plot_activation_histograms: no layer statistics to draw")
    fig, axes = _grid(len(layers), 4, 3.3, 2.4)
    for ax, stats in zip(axes, layers):
        counts = np.asarray(stats["hist"], dtype=np.float64)
        low, high = stats["range"]
        edges = np.linspace(low, high if high > low else low + 1, len(counts) + 1)
        share = counts / max(counts.sum(), 1)
        colour = "tab:red" if alarming(stats) else "tab:blue"
        ax.stairs(share, edges, fill=True, alpha=0.6, color=colour)
        ax.set_title(
            f"{stats['label']}\nmean {stats['mean']:+.2f}, std {stats['std']:.2f}", fontsize=8
        )
        note = activation_note(stats)
        if note:
            ax.text(
                0.98,
                0.95,
                note,
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none"},
            )
        ax.set_xlabel("output value", fontsize=8)
        ax.set_ylabel("share of values", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title or "Activations per layer: share of values in each bin", fontsize=10)
    fig.tight_layout()
    return fig


def plot_dead_units(layers: list[dict], title: str | None = None):
    """For each ReLU layer, how often each unit (each filter, for conv layers) is active;
    dead units (never active) are red.

    Args:
        layers: ``diagnosis["dead_relu"].data["layers"]``, or layer statistics with an
            ``activity`` list.
    """
    relus = [layer for layer in layers if "activity" in layer]
    if not relus:
        raise ValueError("plot_dead_units: the model has no ReLU layers")
    fig, axes = subplots(len(relus), 1, figsize=(9, 1.9 * len(relus) + 0.8), squeeze=False)
    for ax, layer in zip(axes.flat, relus):
        activity = np.asarray(layer["activity"])
        units = np.arange(len(activity))
        dead = activity == 0
        ax.bar(units[~dead], activity[~dead], width=0.9, color="tab:blue")
        ax.bar(
            units[dead],
            np.full(dead.sum(), 0.02),
            width=0.9,
            color="tab:red",
            label="dead (never active)",
        )
        ax.set(ylim=(0, 1), xlim=(-0.5, len(activity) - 0.5), ylabel="active share")
        whole_numbers(ax.xaxis)  # units are whole numbers
        ax.set_title(
            f"{layer['label']}: {dead.sum()} of {len(activity)} units dead", fontsize=9, loc="left"
        )
        if dead.any():
            # above the plot, beside the title: a share of 1.0 fills the axes to the top
            ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1, 1), frameon=False)
        ax.tick_params(labelsize=7)
    axes.flat[-1].set_xlabel("unit (filter, for a conv layer)")
    fig.suptitle(title or "Dead units: share of inputs on which each unit is active", fontsize=10)
    fig.tight_layout()
    return fig


def plot_update_ratios(
    ratios: dict[str, list[float]],
    steps: dict[str, list[int]] | None = None,
    rule: float = 1e-3,
    title: str | None = None,
):
    """log10 of |update| / |weight| per step for each weight, against the ~1e-3 rule of thumb
    (CS231n; Karpathy's makemore draws the same picture).  Far above: steps too big; far
    below: too small.

    Args:
        ratios: ``{parameter name: [ratio per step]}`` (``diagnosis["update_ratio"].data
            ["ratios"]``, or ``update_ratio_series(monitor.records)``).
        steps: the step number of each ratio (default 1, 2, ...).
    """
    drawn = {name: r for name, r in ratios.items() if r}
    if not drawn:
        raise ValueError("plot_update_ratios: no update ratios to draw")
    fig, ax = subplots(figsize=(9, 4))
    floor = 1e-12  # a step that changed nothing (0) has no log: drawn here, and said so
    for name, values in drawn.items():
        x = steps[name] if steps else np.arange(1, len(values) + 1)
        y = np.log10(np.maximum(np.asarray(values, dtype=np.float64), floor))
        ax.plot(x, y, label=name, marker="." if len(values) < 40 else None)
    if any(min(values) < floor for values in drawn.values()):
        ax.axhline(
            np.log10(floor),
            color="0.6",
            linestyle=":",
            linewidth=1,
            label="0: no change (drawn at -12)",
        )
    ax.axhline(
        np.log10(rule), color="k", linestyle="--", linewidth=1, label=f"rule of thumb ({rule:g})"
    )
    ax.set(xlabel="step", ylabel="log10 |update| / |weight|")
    whole_numbers(ax.xaxis)  # steps are whole numbers
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title or "Update-to-weight ratio per step", fontsize=10)
    fig.tight_layout()
    return fig


def plot_lr_curve(curve: dict, user_lr: float | None = None, title: str | None = None):
    """The learning-rate range test: loss against learning rate (log scale), with where it
    starts to fall, its lowest point, the suggestion and your rate marked.

    Args:
        curve: ``diagnosis["lr"].data`` (``lrs``, ``losses``, ``lr_min``, ``suggested``...).
        user_lr: your learning rate (default: ``curve["user_lr"]`` if present).
    """
    if not curve.get("lrs"):
        raise ValueError("plot_lr_curve: the range test recorded no points")
    user_lr = curve.get("user_lr") if user_lr is None else user_lr
    fig, ax = subplots(figsize=(8, 4))
    ax.plot(curve["lrs"], curve["losses"], color="tab:blue", label="loss (smoothed)")
    ax.set_xscale("log")
    ax.axhline(
        curve["start_loss"],
        color="grey",
        linewidth=0.8,
        linestyle=":",
        label=f"start {curve['start_loss']:.3g}",
    )
    if curve.get("lr_falls"):
        ax.axvline(
            curve["lr_falls"],
            color="tab:purple",
            linestyle=":",
            label=f"starts to fall at {curve['lr_falls']:.2g}",
        )
    ax.axvline(
        curve["lr_min"],
        color="tab:orange",
        linestyle="--",
        label=f"lowest loss at {curve['lr_min']:.2g}",
    )
    ax.axvline(
        curve["suggested"],
        color="tab:green",
        linewidth=2,
        label=f"suggested {curve['suggested']:.2g}",
    )
    if user_lr is not None:
        ax.axvline(user_lr, color="tab:red", linestyle="-.", label=f"yours {user_lr:g}")
    if curve.get("diverged_lr"):
        ax.axvline(
            curve["diverged_lr"],
            color="k",
            linewidth=0.8,
            label=f"blew up at {curve['diverged_lr']:.2g}",
        )
    top = max(curve["losses"]) * 1.1
    ax.set(xlabel="learning rate", ylabel="loss", ylim=(0, top))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title or "Learning-rate range test (Smith 2017, fastai's lr_find)", fontsize=10)
    fig.tight_layout()
    return fig
