"""The doctor's pictures can be read off a projector: every axis says what it counts, and a
unit number is a whole number."""

from __future__ import annotations

import numpy as np

from cnn_numpy.tools.visualize import plot_activation_histograms, plot_dead_units


def layer_stats(label: str, activity=None) -> dict:
    stats = {"label": label, "hist": [5, 0, 3, 2], "range": (-1.0, 2.0), "mean": 0.1, "std": 0.9}
    if activity is not None:
        stats.update(activity=activity, zeros=0.5)
    return stats


def test_every_histogram_names_its_axes():
    fig = plot_activation_histograms([layer_stats("0: Conv2d"), layer_stats("1: ReLU", [0, 1])])
    drawn = [ax for ax in fig.axes if ax.patches]
    assert len(drawn) == 2
    for ax in drawn:
        assert ax.get_xlabel() == "output value" and ax.get_ylabel() == "share of values"


def test_dead_units_are_numbered_in_whole_numbers():
    fig = plot_dead_units([layer_stats("1: ReLU", [0.0, 0.4, 0.0, 0.9])])
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if -0.5 <= t <= 3.5]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert np.isclose(ax.get_ylim()[1], 1.0)


def test_update_ratio_steps_are_whole_numbers():
    """A short diagnose run has a handful of steps: no tick may read "step 1.5"."""
    from cnn_numpy.tools.visualize import plot_update_ratios

    fig = plot_update_ratios({"0.weight": [1e-3, 2e-3, 5e-3, 1e-2, 3e-2]})
    ax = fig.axes[0]
    fig.canvas.draw()
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    assert ax.get_xlabel() == "step"


def test_the_dead_unit_legend_covers_no_bar():
    """Active shares reach 1.0 anywhere along the axis: the legend sits above the plot."""
    fig = plot_dead_units([layer_stats("8: ReLU", [1.0] * 60 + [0.0] * 4 + [1.0] * 64)])
    ax = fig.axes[0]
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert legend.y0 >= ax.get_window_extent().y1 - 1, (legend, ax.get_window_extent())


def test_a_step_that_changed_nothing_is_said_to_be_zero():
    """An lr that blew the loss up to NaN: every later update was 0, drawn flat at -12 with
    nothing to say so; read as ratios of 1e-12.  The line at -12 is named in the legend."""
    from cnn_numpy.tools.visualize import plot_update_ratios

    fig = plot_update_ratios({"0.weight": [1e-2, 0.0, 0.0]})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("0: no change") for label in labels), labels


def visible_ticks(ax) -> list[float]:
    low, high = ax.get_xlim()
    return [float(t) for t in ax.get_xticks() if low <= t <= high]


def test_one_watched_step_is_step_1_not_a_scale_of_fractions():
    """`train --monitor` on a short run watches one step: the step axes read 0.96, 0.98, 1.00,
    1.02 ... (update ratios and the three monitor panels); a step is a whole number."""
    from cnn_numpy.tools.visualize import plot_monitor, plot_update_ratios

    ratios = plot_update_ratios({"0.weight": [1e-2]}, {"0.weight": [1]})
    layer = {"label": "1: ReLU", "kind": "ReLU", "std": 0.2, "activity": [0.0, 0.5]}
    param = {"name": "0.weight", "shape": [8, 1, 3, 3], "grad_data": 0.01, "update_ratio": 0.01}
    record = {"step": 1, "epoch": 1, "layers": [layer], "params": [param]}
    monitor = plot_monitor([record])
    axes = [*ratios.axes, *monitor.axes]
    for fig in (ratios, monitor):
        fig.canvas.draw()
    for ax in axes:
        assert visible_ticks(ax) == [1.0], (ax.get_title(), visible_ticks(ax))
