"""The three matrix products of a convolution (``layers/conv.py``), each with the trick that
makes it fast named in its docstring (measured in docs/performance.md, "Why the code is laid
out as it is")."""

from __future__ import annotations

import numpy as np

#: the products run BLOCK columns (output pixels) at a time, see ``matmul_in_blocks``
BLOCK = 4096


def matmul_in_blocks(w: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``w @ cols``, computed BLOCK columns at a time.

    Why blocks: a thin product (a first layer has C*kh*kw = 9 rows) cut into blocks is small
    enough for OpenBLAS's unpacked small-matrix kernels on AVX-512 CPUs, several times faster
    there; on other CPUs the blocks cost a little (docs/performance.md).  Each block of the
    result is the product of the same block of columns: together, exactly the whole product.
    """
    out = np.empty((w.shape[0], cols.shape[1]), dtype=cols.dtype)
    for s in range(0, cols.shape[1], BLOCK):
        np.matmul(w, cols[:, s : s + BLOCK], out=out[:, s : s + BLOCK])
    return out


def weight_grad(g: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """dw = g @ cols.T, shape (F, C*kh*kw), for g (F, P) and cols (C*kh*kw, P).

    Computed transposed, as (cols @ g.T).T: the same sums, but with C*kh*kw rows (144 in
    LeNet's second conv) instead of F (32), which OpenBLAS splits over threads better.
    BLOCK columns at a time, as the forward product (``matmul_in_blocks``).
    """
    dw_t = np.zeros((cols.shape[0], g.shape[0]), dtype=g.dtype)  # (C*kh*kw, F)
    for s in range(0, g.shape[1], BLOCK):
        dw_t += cols[:, s : s + BLOCK] @ g[:, s : s + BLOCK].T
    return dw_t.T


def bias_grad(g: np.ndarray) -> np.ndarray:
    """db = the row sums of g (F, P), shape (F,).

    Written as the matrix-vector product g @ ones, which BLAS computes faster than NumPy's
    ``g.sum(axis=1)`` for the long rows a convolution has.
    """
    return g @ np.ones(g.shape[1], g.dtype)


def cols_grad(w: np.ndarray, g: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """dcols = w.T @ g, shape (C*kh*kw, P): the gradient of every column entry.

    ``out``: an array of that shape to fill (see ``reuse``: no page faults step after step).
    """
    return np.matmul(w.T, g, out=out)
