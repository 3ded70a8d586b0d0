"""Your own photos and drawings of digits, prepared the way MNIST's digits were.

``read_image`` reads a file into a (1, 28, 28) float32 image in [0, 1]; ``preprocess_digit`` does
the same for an array.  The steps, in order, are in ``images.py``; each has its module.
``prepare_fashion`` prepares a photo of a garment the way Fashion-MNIST's were (``fashion.py``).
"""

from .fashion import prepare_fashion
from .images import preprocess_digit, read_image

__all__ = ["prepare_fashion", "preprocess_digit", "read_image"]
