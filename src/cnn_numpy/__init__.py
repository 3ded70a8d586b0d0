"""cnn-numpy: a convolutional neural network library in pure NumPy, written to be read."""

from .data import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    iterate_minibatches,
    load_fashion_mnist,
    load_mnist,
    normalize,
    read_idx,
    synthetic_lines,
    train_test_split,
)
from .gradcheck import check_layer_gradients, check_loss_gradients, numerical_gradient
from .imageprep import preprocess_digit, read_image
from .layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Parameter,
    ReLU,
    Sigmoid,
    Tanh,
)
from .losses import CrossEntropyLoss
from .memory import keep_freed_memory
from .model import Sequential
from .optim import SGD, Adam
from .parallel import DataParallel
from .plots import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_filters,
    plot_history,
    plot_mistakes,
)
from .presets import deep, lenet, seed_net
from .report import write_report
from .schedulers import CosineAnnealingLR, StepLR
from .serialization import load, load_card, save
from .train import History, evaluate, fit, predict, predict_proba

__version__ = "0.1.0"

__all__ = [
    "Adam", "Conv2d", "CrossEntropyLoss", "Flatten", "History", "Layer", "Linear", "MaxPool2d",
    "Parameter", "ReLU", "SGD", "Sequential", "check_layer_gradients", "check_loss_gradients",
    "evaluate", "fit", "iterate_minibatches", "lenet", "numerical_gradient", "predict",
    "predict_proba", "seed_net", "synthetic_lines", "train_test_split",
    "FASHION_MNIST_CLASSES", "MNIST_CLASSES", "load_fashion_mnist", "load_mnist", "normalize",
    "read_idx",
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "CosineAnnealingLR", "Dropout", "LeakyReLU",
    "Sigmoid", "StepLR", "Tanh", "deep", "DataParallel", "keep_freed_memory",
    "load", "load_card", "preprocess_digit", "read_image", "save",
    "confusion_matrix", "plot_confusion_matrix", "plot_feature_maps", "plot_filters",
    "plot_history", "plot_mistakes", "write_report",
]
