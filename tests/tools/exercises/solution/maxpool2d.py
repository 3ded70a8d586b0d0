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
    N, C, H, W = x.shape
    k, s = kernel_size, stride
    H_out = (H - k) // s + 1
    W_out = (W - k) // s + 1
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * s : i * s + k, j * s : j * s + k].max(axis=(2, 3))
    return out, (x, k, s)


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
    x, k, s = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(N, C, k * k)
            first = np.argmax(window, axis=2)  # the first maximum, row-major, per (n, c)
            a, b = first // k, first % k
            n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
            dx[n, c, i * s + a, j * s + b] += dout[:, :, i, j]
    return dx
