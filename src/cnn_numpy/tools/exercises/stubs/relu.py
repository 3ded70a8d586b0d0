"""Exercise 1: ReLU, forward and backward.

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/04-relu-pool-flatten-linear.md
Check it: cnn-numpy exercises check . relu      (a hint: cnn-numpy exercises hint . relu)
"""

import numpy as np


def relu_forward(x):
    """out = max(0, x), elementwise.

    Args:
        x: an array of any shape (float64 when graded).

    Returns:
        (out, cache): out has x's shape and dtype; cache is whatever relu_backward needs.
    """
    raise NotImplementedError


def relu_backward(dout, cache):
    """dx = dout where x > 0, and 0 elsewhere (also 0 where x is exactly 0, as PyTorch).

    Args:
        dout: dL/dout, the shape of out.
        cache: what relu_forward returned.

    Returns:
        dx: dL/dx, the shape of x.  Do not change dout in place.
    """
    raise NotImplementedError
