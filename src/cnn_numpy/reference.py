"""The textbook versions: convolution and max pooling written as plain loops.

Slow (Python loops over every image, channel and pixel) but easy to check by hand.
They are the oracle the tests hold the fast layers in ``cnn_numpy.layers`` to.
All arrays are NCHW; ``w`` is (F, C, kh, kw) as in PyTorch.
"""

from __future__ import annotations

import numpy as np


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0)):
    """out[n, f, a, c] = b[f] + sum_{ch, i, j} w[f, ch, i, j] * xp[n, ch, a*sh + i, c*sw + j]."""
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    out = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for a in range(Ho):
                for c in range(Wo):
                    window = xp[n, :, a * sh : a * sh + kh, c * sw : c * sw + kw]  # (C, kh, kw)
                    out[n, f, a, c] = np.sum(window * w[f]) + (0 if b is None else b[f])
    return out


def conv2d_backward(x, w, grad_out, stride=(1, 1), padding=(0, 0)):
    """Gradients (dx, dw, db) of ``conv2d`` by the chain rule, one output pixel at a time.

    Each output pixel out[n, f, a, c] touched one window of xp with weights w[f]:
    it sends grad * window to dw[f] and grad * w[f] back to that window of dxp.
    """
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = grad_out.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for a in range(grad_out.shape[2]):
                for c in range(grad_out.shape[3]):
                    g = grad_out[n, f, a, c]
                    rows, cols = slice(a * sh, a * sh + kh), slice(c * sw, c * sw + kw)
                    dw[f] += g * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g * w[f]
    dx = dxp[:, :, ph : ph + H, pw : pw + W]
    return dx, dw, db


def max_pool2d(x, kernel_size=(2, 2), stride=None, padding=(0, 0)):
    """out[n, c, a, b] = max of the window at (a*sh, b*sw) of size kh x kw, in x padded
    with -inf (never a maximum)."""
    (kh, kw) = kernel_size
    (sh, sw) = stride or kernel_size
    (ph, pw) = padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for a in range(Ho):
                for b in range(Wo):
                    out[n, c, a, b] = x[n, c, a * sh : a * sh + kh, b * sw : b * sw + kw].max()
    return out


def max_pool2d_backward(x, grad_out, kernel_size=(2, 2), stride=None, padding=(0, 0)):
    """Each window's gradient goes to its maximum; among ties, the first in row-major order
    (``np.argmax`` on the flattened window), as PyTorch does."""
    (kh, kw) = kernel_size
    (sh, sw) = stride or kernel_size
    (ph, pw) = padding
    H, W = x.shape[2:]
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    dx = np.zeros_like(x)
    N, C, Ho, Wo = grad_out.shape
    for n in range(N):
        for c in range(C):
            for a in range(Ho):
                for b in range(Wo):
                    window = x[n, c, a * sh : a * sh + kh, b * sw : b * sw + kw]
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, a * sh + i, b * sw + j] += grad_out[n, c, a, b]
    return dx[:, :, ph : ph + H, pw : pw + W]
