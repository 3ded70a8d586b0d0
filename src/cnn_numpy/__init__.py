"""cnn-numpy: a convolutional neural network library in pure NumPy, written to be read.

Read first: ``layers/`` (each a short forward and backward), ``losses.py``, ``optim.py``,
``model.py`` (``Sequential``) and ``train.py`` (``fit``).  The subpackages are tooling:
``data/`` (datasets, your own images), ``novelty/`` ("not a digit"), ``saving/`` (files),
``visualize/`` (pictures), ``speed/`` (cores and memory), ``doctor/`` (when training goes
wrong: ``diagnose``, ``Monitor``), ``cli/`` (the ``cnn-numpy`` command).
"""

from .data import (
    FASHION_MNIST_CLASSES,
    LINES_CLASSES,
    MNIST_CLASSES,
    iterate_minibatches,
    load_fashion_mnist,
    load_mnist,
    normalize,
    preprocess_digit,
    read_idx,
    read_image,
    synthetic_lines,
    train_test_split,
)
from .doctor import Diagnosis, Finding, Monitor, diagnose
from .gradcheck import check_layer_gradients, check_loss_gradients, numerical_gradient
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
from .model import Sequential
from .novelty import (
    NoveltyDetector,
    NoveltyPrediction,
    fit_novelty,
    load_novelty,
    predict_with_novelty,
    save_novelty,
)
from .optim import SGD, Adam
from .presets import deep, lenet, seed_net
from .saving import load, load_card, save
from .saving.to_onnx import export_onnx
from .schedulers import CosineAnnealingLR, StepLR
from .speed import DataParallel, keep_freed_memory
from .train import History, evaluate, fit, predict, predict_proba
from .visualize import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_filters,
    plot_history,
    plot_mistakes,
    plot_preparation,
    write_diagnosis,
    write_report,
)

__version__ = "0.1.0"

__all__ = [
    # the building blocks: layers, loss, model
    "Layer",
    "Parameter",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Flatten",
    "Linear",
    "BatchNorm2d",
    "BatchNorm1d",
    "Dropout",
    "CrossEntropyLoss",
    "Sequential",
    "seed_net",
    "lenet",
    "deep",
    # training: optimizers, schedules, the loop
    "SGD",
    "Adam",
    "StepLR",
    "CosineAnnealingLR",
    "fit",
    "History",
    "evaluate",
    "predict",
    "predict_proba",
    # proving it right
    "check_layer_gradients",
    "check_loss_gradients",
    "numerical_gradient",
    # data
    "synthetic_lines",
    "train_test_split",
    "iterate_minibatches",
    "load_mnist",
    "load_fashion_mnist",
    "LINES_CLASSES",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "normalize",
    "read_idx",
    "read_image",
    "preprocess_digit",
    # keeping a model
    "save",
    "load",
    "load_card",
    # "is this one of the classes at all?"
    "fit_novelty",
    "save_novelty",
    "load_novelty",
    "predict_with_novelty",
    "NoveltyDetector",
    "NoveltyPrediction",
    # looking inside
    "plot_history",
    "plot_filters",
    "plot_feature_maps",
    "confusion_matrix",
    "plot_confusion_matrix",
    "plot_mistakes",
    "write_report",
    "plot_preparation",
    # speed
    "DataParallel",
    "keep_freed_memory",
    # carrying it elsewhere
    "export_onnx",
    # when training goes wrong
    "diagnose",
    "Diagnosis",
    "Finding",
    "Monitor",
    "write_diagnosis",
]
