"""cnn-numpy: a convolutional neural network library in pure NumPy, written to be read.

The core, at this level, is what the tour teaches: ``layers/`` (each a short forward and
backward), ``losses.py``, ``optim.py``, ``schedulers.py``, ``model.py`` (``Sequential``),
``train.py`` (``fit``), ``gradcheck.py`` and ``reference.py`` (proving it right),
``presets.py`` and ``data/`` (the datasets).  Everything else is a tool around it, one folder
each under ``tools/`` (see its ``__init__``); the tools' names below load only when first used,
so ``import cnn_numpy`` stays light (no Pillow, matplotlib, tqdm or server code).
"""

import importlib

from . import _moved  # noqa: F401  (old module paths keep working: see _moved.py)
from .data import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    LINES_CLASSES,
    MNIST_CLASSES,
    iterate_minibatches,
    load_cifar10,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    normalize,
    read_idx,
    synthetic_lines,
    train_test_split,
)
from .epoch_progress import EpochProgress
from .gradcheck import check_layer_gradients, check_loss_gradients, numerical_gradient
from .layers import (
    AdaptiveAvgPool2d,
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
    Residual,
    Sigmoid,
    Tanh,
)
from .losses import CrossEntropyLoss
from .model import Sequential
from .optim import SGD, Adam, AdamW
from .presets import deep, lenet, resnet, seed_net
from .schedulers import CosineAnnealingLR, StepLR
from .train import Callback, History, PrintEpoch, evaluate, fit, predict, predict_proba

__version__ = "0.1.0"

# The tools' public names: name -> the module under cnn_numpy that defines it, imported on first use.
_TOOL_NAMES = {
    **dict.fromkeys(["read_image", "preprocess_digit", "prepare_fashion"], "tools.photos"),
    **dict.fromkeys(["diagnose", "Diagnosis", "Finding", "Monitor"], "tools.doctor"),
    **dict.fromkeys(
        ["fit_novelty", "save_novelty", "load_novelty", "predict_with_novelty", "NoveltyDetector",
         "NoveltyPrediction", "train_reader"],
        "tools.novelty",
    ),
    **dict.fromkeys(["save", "load", "load_card"], "tools.saving"),
    "export_onnx": "tools.onnx_export",
    **dict.fromkeys(["DataParallel", "keep_freed_memory"], "tools.speed"),
    **dict.fromkeys(
        ["plot_history", "plot_filters", "plot_feature_maps", "confusion_matrix",
         "plot_confusion_matrix", "plot_mistakes", "write_report", "plot_preparation",
         "write_diagnosis"],
        "tools.visualize",
    ),
}  # fmt: skip
#: tool modules that ``from cnn_numpy import <name>`` loads on first use
_TOOL_MODULES = {"exercises": "tools.exercises", "explain": "tools.explain"}


def __getattr__(name: str):
    """Load a tool's name the first time it is asked for (PEP 562)."""
    if name in _TOOL_MODULES:
        module = importlib.import_module(f".{_TOOL_MODULES[name]}", __name__)
        globals()[name] = module
        return module
    if name not in _TOOL_NAMES:
        raise AttributeError(f"module 'cnn_numpy' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_TOOL_NAMES[name]}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_TOOL_NAMES) | set(_TOOL_MODULES))


__all__ = [
    # the building blocks: layers, loss, model
    "Layer", "Parameter", "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "LeakyReLU", "Sigmoid",
    "Tanh", "Flatten", "Linear", "BatchNorm2d", "BatchNorm1d", "Dropout", "CrossEntropyLoss",
    "Sequential", "seed_net", "lenet", "deep", "Residual", "AdaptiveAvgPool2d", "resnet",
    # training: optimizers, schedules, the loop
    "SGD", "Adam", "AdamW", "StepLR", "CosineAnnealingLR", "fit", "Callback", "PrintEpoch", "History",
    "EpochProgress", "evaluate", "predict", "predict_proba",
    # proving it right
    "check_layer_gradients", "check_loss_gradients", "numerical_gradient",
    # data
    "synthetic_lines", "train_test_split", "iterate_minibatches", "load_mnist",
    "load_fashion_mnist", "LINES_CLASSES", "MNIST_CLASSES", "FASHION_MNIST_CLASSES",
    "normalize", "read_idx", "load_cifar10", "CIFAR10_CLASSES", "load_dataset",
    # the tools (loaded on first use)
    *_TOOL_NAMES, *_TOOL_MODULES,
]  # fmt: skip
