"""Layers: each a short forward() and backward()."""

from .activations import LeakyReLU, ReLU, Sigmoid, Tanh
from .adaptive_pool import AdaptiveAvgPool2d
from .base import Layer, Parameter
from .conv import Conv2d
from .dropout import Dropout
from .linear import Flatten, Linear
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import AvgPool2d, MaxPool2d
from .residual import Residual

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Parameter",
    "ReLU",
    "Residual",
    "Sigmoid",
    "Tanh",
]
