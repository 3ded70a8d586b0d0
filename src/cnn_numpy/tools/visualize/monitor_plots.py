"""How did the inside of the network change while it trained?  Pictures of a ``Monitor``'s
records: activation statistics, gradients and update ratios over the training steps."""

from __future__ import annotations

import numpy as np

from .figures import subplots, whole_numbers

#: the report's sections for a monitored run: (file stem, heading, what to look for)
MONITOR_SECTIONS = [
    (
        "monitor",
        "Inside the network while it trained",
        "Recorded every few steps (train --monitor). Left: the spread of each nonlinearity's "
        "output; one that collapses to 0 or keeps growing has stopped learning. Middle: ReLU units "
        "silent for a whole batch and saturated tanh/sigmoid outputs pass no gradient (a dead "
        "unit stays silent for good). Right: how large the gradients are next to the weights "
        "they update.",
    ),
    (
        "monitor_updates",
        "Update-to-weight ratios",
        "How much each step changed each weight, relative to its size: about 1e-3 (the dashed "
        "line) is the rule of thumb. Far above, steps are too big; far below, too small.",
    ),
    (
        "monitor_histograms",
        "Activations at the last recorded step",
        "The values each layer put out. A healthy layer spreads them; ReLU outputs pile up at 0 "
        "(a dead unit is always 0); tanh and sigmoid outputs should not crowd at their limits.",
    ),
]
FILTERS_EPOCHS_SECTION = (
    "filters_epochs",
    "The same filters, epoch by epoch",
    "An animation (one frame per epoch, one colour scale for all): watch the kernels grow "
    "from random noise into pattern detectors.",
)

#: layers whose outputs say most about health: the nonlinearities
NONLINEAR = ("ReLU", "LeakyReLU", "Tanh", "Sigmoid")


def update_ratio_series(records: list[dict]) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    """``({weight name: [update ratio per watched step]}, {weight name: [step numbers]})`` for
    every weight (parameters with 2 or more axes), ready for ``plot_update_ratios``."""
    ratios: dict[str, list[float]] = {}
    steps: dict[str, list[int]] = {}
    for record in records:
        for p in record["params"]:
            if len(p["shape"]) >= 2 and p["update_ratio"] is not None:
                ratios.setdefault(p["name"], []).append(p["update_ratio"])
                steps.setdefault(p["name"], []).append(record["step"])
    return ratios, steps


def _layer_series(records: list[dict], key) -> dict[str, tuple[list[int], list[float]]]:
    series: dict[str, tuple[list[int], list[float]]] = {}
    for record in records:
        for stats in record["layers"]:
            value = key(stats)
            if value is not None:
                steps, values = series.setdefault(stats["label"], ([], []))
                steps.append(record["step"])
                values.append(value)
    return series


def _dead_or_saturated(stats: dict) -> float | None:
    if "activity" in stats:
        return float(np.mean(np.asarray(stats["activity"]) == 0))
    return stats.get("saturated")


def _marker(steps) -> str | None:
    """Dots on a short series (as ``plot_update_ratios``): a single watched step, which a
    line alone does not draw, is seen too."""
    return "." if len(steps) < 40 else None


def plot_monitor(records: list[dict], title: str | None = None):
    """Three panels over the training steps: the std of each nonlinearity's output (a layer
    whose spread collapses to 0 or explodes has stopped learning), the share of ReLU units
    silent for every image of the watched batch (a dead unit is silent for good) or of
    saturated tanh/sigmoid outputs, and each weight's grad:data ratio (std of the gradient
    over std of the weights).

    Args:
        records: ``monitor.records`` (or ``Monitor.load(run_dir).records``).
    """
    if not records:
        raise ValueError("plot_monitor: the monitor recorded no steps")
    kinds = {s["label"]: s["kind"] for r in records for s in r["layers"]}
    shown = [label for label, kind in kinds.items() if kind in NONLINEAR] or list(kinds)
    fig, (ax_std, ax_dead, ax_grad) = subplots(1, 3, figsize=(14, 4))
    for label, (steps, values) in _layer_series(records, lambda s: s["std"]).items():
        if label in shown:
            ax_std.plot(steps, values, label=label, marker=_marker(steps))
    ax_std.set(xlabel="step", ylabel="std of the output", title="Activation spread")
    for label, (steps, values) in _layer_series(records, _dead_or_saturated).items():
        kind = "silent" if kinds[label] == "ReLU" else "saturated"
        ax_dead.plot(
            steps, np.asarray(values) * 100, label=f"{label} ({kind})", marker=_marker(steps)
        )
    ax_dead.set(
        xlabel="step",
        ylabel="% of units / outputs",
        ylim=(0, 100),
        title="ReLU units silent on the whole batch,\nsaturated tanh/sigmoid outputs",
    )
    weights = dict.fromkeys(p["name"] for r in records for p in r["params"] if len(p["shape"]) >= 2)
    for name in weights:
        points = [
            (r["step"], p["grad_data"])
            for r in records
            for p in r["params"]
            if p["name"] == name and p["grad_data"]
        ]
        if points:
            steps, values = zip(*points)
            ax_grad.plot(steps, np.log10(values), label=name, marker=_marker(steps))
    ax_grad.set(xlabel="step", ylabel="log10 std(grad) / std(weight)", title="Gradients")
    for ax in (ax_std, ax_dead, ax_grad):
        whole_numbers(ax.xaxis)  # steps are whole numbers
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    first, last = records[0]["step"], records[-1]["step"]
    watched = (
        f"1 watched step, step {first}"
        if len(records) == 1
        else f"{len(records)} watched steps, {first} to {last}"
    )
    fig.suptitle(title or f"Inside the network while it trained ({watched})", fontsize=10)
    fig.tight_layout()
    return fig


def monitor_figures(run_dir) -> dict:
    """``{file stem: Figure, or GIF bytes}`` for a run folder whose training was monitored
    (it holds ``monitor.json``): the statistics over the steps, the last watched step's
    activation histograms, the update ratios, and the filters epoch by epoch
    (``filters_epochs``, a GIF).  Empty for a run without a monitor."""
    from pathlib import Path

    from ..doctor.monitor import FILE, Monitor
    from .animation import filters_gif
    from .health import plot_activation_histograms, plot_update_ratios

    if not (Path(run_dir) / FILE).is_file():
        return {}
    monitor = Monitor.load(run_dir)
    figures: dict = {}
    if monitor.records:
        last = monitor.records[-1]
        figures["monitor"] = plot_monitor(monitor.records)
        if last["layers"]:
            figures["monitor_histograms"] = plot_activation_histograms(
                last["layers"],
                title=f"Activations per layer at step {last['step']} "
                f"(epoch {last['epoch']}): share of values in each bin",
            )
        ratios, steps = update_ratio_series(monitor.records)
        if ratios:
            figures["monitor_updates"] = plot_update_ratios(ratios, steps)
    if monitor.filters:
        figures["filters_epochs"] = filters_gif(monitor.filters)
    return figures
