"""Pictures of a network and its training: curves, filters, feature maps, mistakes, the
run's report page, the shape summary of a model, and how a photo was prepared."""

from .curves import plot_history
from .inside import conv_layers, feature_maps, plot_feature_maps, plot_filters
from .mistakes import confusion_matrix, plot_confusion_matrix, plot_mistakes
from .preparation import plot_preparation
from .report import write_report

__all__ = ["confusion_matrix", "conv_layers", "feature_maps", "plot_confusion_matrix",
           "plot_feature_maps", "plot_filters", "plot_history", "plot_mistakes", "plot_preparation",
           "write_report"]
