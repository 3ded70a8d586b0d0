"""Exercise 2: a fully connected (Linear) layer, forward and backward.

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/04-relu-pool-flatten-linear.md
Check it: cnn-numpy exercises check . linear      (a hint: cnn-numpy exercises hint . linear)
"""

import numpy as np


def linear_forward(x, weight, bias):
    """out = x @ weight.T + bias, as torch.nn.Linear.

    Args:
        x: (N, in_features), one row per example.
        weight: (out_features, in_features).
        bias: (out_features,).

    Returns:
        (out, cache): out is (N, out_features); cache is whatever linear_backward needs.
    """
    raise NotImplementedError


def linear_backward(dout, cache):
    """The three gradients of out = x @ weight.T + bias.

    Args:
        dout: dL/dout, (N, out_features).
        cache: what linear_forward returned.

    Returns:
        (dx, dweight, dbias): dx is (N, in_features) = dout @ weight;
        dweight is (out_features, in_features) = dout.T @ x;
        dbias is (out_features,): the sum of dout over the batch (every example adds
        its share to the same bias).
    """
    raise NotImplementedError
