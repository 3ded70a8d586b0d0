"""Exercise 6: max-pooling, forward and backward.

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/04-relu-pool-flatten-linear.md
Check it: cnn-numpy exercises check . maxpool2d      (a hint: cnn-numpy exercises hint . maxpool2d)
"""

import numpy as np


def maxpool2d_forward(x, kernel_size=2, stride=2):
    """The maximum of each kernel_size x kernel_size window, windows moved by stride
    (stride may be smaller than the kernel, then windows overlap), no padding:

        out[n, c, i, j] = max over a, b < kernel_size of x[n, c, i*stride + a, j*stride + b]

    Args:
        x: (N, C, H, W).
        kernel_size, stride: whole numbers.

    Returns:
        (out, cache): out is (N, C, H_out, W_out), H_out = (H - kernel_size) // stride + 1
        (the same for W); cache is whatever maxpool2d_backward needs.
    """
    raise NotImplementedError


def maxpool2d_backward(dout, cache):
    """Each dout[n, c, i, j] goes to the one input that was its window's maximum; when a
    window holds the maximum several times (common after a ReLU: many zeros), only the first
    of them in row-major order gets it, as in PyTorch.  A pixel in several windows (overlap)
    gets the sum of what they send.

    Args:
        dout: dL/dout, (N, C, H_out, W_out).
        cache: what maxpool2d_forward returned.

    Returns:
        dx: (N, C, H, W), zero wherever no window took its maximum.
    """
    raise NotImplementedError
