"""Pictures of a network and its training: curves, filters, feature maps, mistakes, the
run's report page, the shape summary of a model, and how a photo was prepared; and the
health pictures of ``diagnose`` and of a training ``Monitor``."""

from .animation import filters_gif
from .curves import plot_history
from .diagnosis_page import write_diagnosis
from .health import plot_activation_histograms, plot_dead_units, plot_lr_curve, plot_update_ratios
from .inside import conv_layers, feature_maps, plot_feature_maps, plot_filters
from .mistakes import confusion_matrix, plot_confusion_matrix, plot_mistakes
from .monitor_plots import plot_monitor, update_ratio_series
from .preparation import plot_preparation
from .report import write_report

__all__ = [
    "confusion_matrix",
    "conv_layers",
    "feature_maps",
    "filters_gif",
    "plot_activation_histograms",
    "plot_confusion_matrix",
    "plot_dead_units",
    "plot_feature_maps",
    "plot_filters",
    "plot_history",
    "plot_lr_curve",
    "plot_mistakes",
    "plot_monitor",
    "plot_preparation",
    "plot_update_ratios",
    "update_ratio_series",
    "write_diagnosis",
    "write_report",
]
