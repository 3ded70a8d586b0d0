"""Exercise 5: 2-D convolution, forward and backward (loops are fine: correct first).

Docs: https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/02-conv-forward.md (forward)
      https://github.com/cnn-numpy/cnn-numpy/blob/main/docs/03-conv-backward.md (backward)
Check it: cnn-numpy exercises check . conv2d      (a hint: cnn-numpy exercises hint . conv2d)
"""

import numpy as np


def conv2d_forward(x, weight, bias, stride=1, padding=0):
    """Cross-correlation, as torch.nn.Conv2d (the kernel is NOT flipped):

        xp = x with `padding` zeros added on each side of H and W (the input is padded,
             not the output)
        out[n, f, i, j] = bias[f] + sum over c, a, b of
                          xp[n, c, i*stride + a, j*stride + b] * weight[f, c, a, b]

    Args:
        x: (N, C, H, W) images.
        weight: (F, C, kh, kw) kernels (kh and kw may differ).
        bias: (F,).
        stride, padding: whole numbers (the same along H and W).

    Returns:
        (out, cache): out is (N, F, H_out, W_out) with
            H_out = (H + 2*padding - kh) // stride + 1,  W_out = (W + 2*padding - kw) // stride + 1;
        cache is whatever conv2d_backward needs.
    """
    raise NotImplementedError


def conv2d_backward(dout, cache):
    """The gradients of conv2d_forward's out with respect to x, weight and bias.

    Every product xp[n, c, i*stride + a, j*stride + b] * weight[f, c, a, b] in out[n, f, i, j]
    sends dout[n, f, i, j] * weight[f, c, a, b] back to that input pixel (add it: windows
    overlap) and dout[n, f, i, j] * xp[...] to that weight; the bias gets the sum of dout over
    n, i and j.  Compute dxp for the padded input, then cut the padding off.

    Args:
        dout: dL/dout, (N, F, H_out, W_out).
        cache: what conv2d_forward returned.

    Returns:
        (dx, dweight, dbias): the shapes of x (N, C, H, W), weight (F, C, kh, kw), bias (F,).
    """
    raise NotImplementedError
