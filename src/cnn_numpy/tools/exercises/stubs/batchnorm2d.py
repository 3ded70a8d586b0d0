"""Exercise 7: batch normalisation for images, training mode, forward and backward.

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/04-relu-pool-flatten-linear.md
      (the section on BatchNorm's backward)
Check it: cnn-numpy exercises check . batchnorm2d
"""

import numpy as np


def batchnorm2d_forward(x, gamma, beta, eps=1e-5):
    """torch.nn.BatchNorm2d in training mode: each channel c is normalised with the mean
    and variance of all its M = N*H*W values in the batch (not per pixel):

        mean[c] = the mean of x[:, c, :, :]
        var[c]  = the mean of (x[:, c, :, :] - mean[c])**2     (divide by M, not M - 1)
        x_hat   = (x - mean[c]) / sqrt(var[c] + eps)
        out     = gamma[c] * x_hat + beta[c]

    Args:
        x: (N, C, H, W).
        gamma, beta: (C,), the learned scale and shift.
        eps: added to the variance.

    Returns:
        (out, cache): out has x's shape; cache is whatever batchnorm2d_backward needs.
    """
    raise NotImplementedError


def batchnorm2d_backward(dout, cache):
    """The gradients of out with respect to x, gamma and beta.

        dbeta[c]  = sum of dout[:, c]          dgamma[c] = sum of dout[:, c] * x_hat[:, c]
        dx_hat    = dout * gamma[c]
        dx        = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / sqrt(var + eps)

    (the means per channel, over its M values).  The two subtracted terms are the paths
    through the batch mean and the batch variance: every x moves every x_hat of its channel.

    Args:
        dout: dL/dout, the shape of x.
        cache: what batchnorm2d_forward returned.

    Returns:
        (dx, dgamma, dbeta): the shapes of x, gamma (C,) and beta (C,).
    """
    raise NotImplementedError
