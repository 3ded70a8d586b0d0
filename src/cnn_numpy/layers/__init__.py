"""Layers: each a short forward() and backward()."""

from .activations import ReLU
from .base import Layer, Parameter
from .conv import Conv2d
from .linear import Flatten, Linear
from .pooling import MaxPool2d

__all__ = ["Conv2d", "Flatten", "Layer", "Linear", "MaxPool2d", "Parameter", "ReLU"]
