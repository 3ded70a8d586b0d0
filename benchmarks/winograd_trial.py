"""A trial, not in the library: Winograd's minimal filtering for ``Conv2d``'s 3x3, stride-1
convolutions, timed against the im2col layer it would replace (docs/performance.md, "Tried
and not kept").

    python benchmarks/winograd_trial.py            # agreement with Conv2d, then the times
    python benchmarks/winograd_trial.py --repeats 40

The idea: a 3x3 convolution with 16 multiplications for every 2x2
block of outputs instead of 36 (Lavin & Gray, "Fast Algorithms for Convolutional Neural
Networks", 2016; what cuDNN and oneDNN do for 3x3 kernels).

One dimension first.  Two outputs of a 3-tap filter g over four inputs d0..d3,

    y0 = d0 g0 + d1 g1 + d2 g2,    y1 = d1 g0 + d2 g1 + d3 g2,

take six multiplications.  Winograd found four suffice:

    m0 = (d0 - d2) g0              m1 = (d1 + d2) (g0 + g1 + g2) / 2
    m3 = (d1 - d3) g2              m2 = (d2 - d1) (g0 - g1 + g2) / 2
    y0 = m0 + m1 + m2,             y1 = m1 - m2 - m3.

In matrices: y = Aᵀ [(G g) ⊙ (Bᵀ d)], with the three small matrices below.  Nested over
rows and columns it gives a 2x2 output block from a 4x4 input tile: Y = Aᵀ [U ⊙ V] A with
U = G g Gᵀ (the kernel, transformed once per step) and V = Bᵀ d B (the tile).  Summed over
input channels, each of the 16 positions (i, j) of a tile is one matrix product:

    M[ij] (F, tiles) = U[ij] (F, C) @ V[ij] (C, tiles)

16 products of C rows where im2col makes one of 9*C rows for a quarter of the outputs:
2.25 times fewer multiplications.  The transforms are additions and subtractions of
whole arrays (``combine``); the tiles overlap by two pixels (a stride of 2).

Backward is the same maths transposed, as for any linear map: dM = A dY Aᵀ per block,
dU[ij] = dM[ij] @ V[ij]ᵀ, dV[ij] = U[ij]ᵀ @ dM[ij], dw = Gᵀ dU G, and dd = B dV Bᵀ added
back into the overlapping tiles.  Layout: batch last, as in layers/conv.py.

What it measured (2026-12-07, AMD EPYC Zen 4, 1 thread): the products of a 32-channel
layer fall from ~9.6 to ~4.5 ms a step, as the arithmetic says, but the transforms are
whole-array additions over tiles 4 times the input's size, as much memory traffic as
im2col and col2im, and eat the gain: the layer's step within ~10% of im2col's, slower for
LeNet's 16-channel conv and where a 7x7 output wastes a quarter of its 8x8 tiles.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from cnn_numpy.layers import Conv2d
from cnn_numpy.layers.speed import reuse
from cnn_numpy.tools.cli.common import int_in

#: input tiles: V = Bᵀ d B
BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
#: kernels: U = G g Gᵀ
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
#: output blocks: Y = Aᵀ M A
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])


def combine(matrix: np.ndarray, parts: list, out: np.ndarray) -> np.ndarray:
    """out[i] = Σ_k matrix[i, k] * parts[k] for a matrix of 0 and ±1: adds and subtracts only."""
    for i, row in enumerate(matrix):
        terms = [(k, int(sign)) for k, sign in enumerate(row) if sign]
        (k, sign), rest = terms[0], terms[1:]
        if rest:
            (k2, sign2), rest = rest[0], rest[1:]
            op = np.add if sign == sign2 else np.subtract
            op(parts[k], parts[k2], out=out[i])
            if sign < 0:
                np.negative(out[i], out=out[i])
        else:
            np.multiply(parts[k], sign, out=out[i])
        for k, sign in rest:
            (np.add if sign > 0 else np.subtract)(out[i], parts[k], out=out[i])
    return out


def tile_taps(x: np.ndarray, axis: int, tiles: int) -> list:
    """The four views d0..d3 of overlapping 4-wide tiles along ``axis`` (stride 2):
    ``taps[k]`` holds x[2t + k] for t = 0..tiles-1."""
    index = [slice(None)] * x.ndim
    taps = []
    for k in range(4):
        index[axis] = slice(k, k + 2 * tiles, 2)
        taps.append(x[tuple(index)])
    return taps


def pair_views(y: np.ndarray, axis: int) -> list:
    """The two views y[2t] and y[2t + 1] along ``axis``: the two outputs of each block."""
    index = [slice(None)] * y.ndim
    views = []
    for a in range(2):
        index[axis] = slice(a, None, 2)
        views.append(y[tuple(index)])
    return views


def weight_transform(w: np.ndarray) -> np.ndarray:
    """U = G w Gᵀ for every kernel: (F, C, 3, 3) -> (16, F, C)."""
    F, C = w.shape[:2]
    g = G.astype(w.dtype)
    return (g @ w @ g.T).transpose(2, 3, 0, 1).reshape(16, F, C)  # (4, 4, F, C) -> (16, F, C)


def weight_transform_backward(dU: np.ndarray) -> np.ndarray:
    """dw = Gᵀ dU G: (16, F, C) -> (F, C, 3, 3)."""
    F, C = dU.shape[1:]
    g = G.astype(dU.dtype)
    return g.T @ dU.reshape(4, 4, F, C).transpose(2, 3, 0, 1) @ g


def input_transform(xp: np.ndarray, tiles: tuple[int, int], out: np.ndarray, rows=None):
    """V = Bᵀ d B for every 4x4 tile: xp (C, 2*T1+2, 2*T2+2, N) -> out (4, 4, C, T1, T2, N).

    Along the width first, into ``rows`` (4, C, Hp, T2, N), then along the height.
    """
    (T1, T2), (C, Hp, _, N) = tiles, xp.shape
    rows = reuse(rows, (4, C, Hp, T2, N), xp.dtype)
    combine(BT, tile_taps(xp, 2, T2), rows)
    for j in range(4):
        combine(BT, tile_taps(rows[j], 1, T1), out[:, j])
    return out


def input_transform_backward(dV: np.ndarray, dxp: np.ndarray, rows=None) -> np.ndarray:
    """dd = B dV Bᵀ, each tile added back where it came from: dV (4, 4, C, T1, T2, N) ->
    dxp (C, Hp, Wp, N), filled.  Neighbouring tiles share two pixels, which get both sums."""
    C, Hp, _, N = dxp.shape
    rows = reuse(rows, (4, C, Hp, dV.shape[4], N), dV.dtype)
    for j in range(4):
        overlap_add(dV[:, j], rows[j], axis=1)
    overlap_add(rows, dxp, axis=2)
    return dxp


def overlap_add(dtaps: np.ndarray, out: np.ndarray, axis: int) -> None:
    """out = the adjoint of ``combine(BT, tile_taps(out, axis))``: out[2t + k] = Σ (B dtaps)[k].

    Taps 0 and 1 of all tiles cover each row once: written.  Taps 2 and 3 overlap the next
    tile's 0 and 1: added (after the last two rows, which only they reach, are zeroed)."""
    tiles = dtaps.shape[axis + 1]
    taps = tile_taps(out, axis, tiles)
    combine(BT.T[:2], list(dtaps), taps[:2])  # d0, d1
    index = [slice(None)] * out.ndim
    index[axis] = slice(2 * tiles, None)
    out[tuple(index)] = 0
    d2 = np.add(dtaps[1], dtaps[2])
    taps[2] += np.subtract(d2, dtaps[0], out=d2)  # d2 = -dt0 + dt1 + dt2
    taps[3] -= dtaps[3]  # d3 = -dt3


def output_transform(M: np.ndarray, out: np.ndarray, half=None) -> np.ndarray:
    """Y = Aᵀ M A for every block: M (4, 4, F, T1, T2, N) -> out (F, 2*T1, 2*T2, N).

    Over the rows first, into ``half`` (2, 4, F, T1, T2, N), then over the columns."""
    half = combine(AT, list(M), reuse(half, (2,) + M.shape[1:], M.dtype))
    for a, row in enumerate(pair_views(out, 1)):
        combine(AT, list(half[a]), pair_views(row, 2))
    return out


def output_transform_backward(dY: np.ndarray, dM: np.ndarray, half=None) -> np.ndarray:
    """dM = A dY Aᵀ: dY (F, 2*T1, 2*T2, N) -> dM (4, 4, F, T1, T2, N), filled."""
    half = reuse(half, (2,) + dM.shape[1:], dY.dtype)
    for a, row in enumerate(pair_views(dY, 1)):
        combine(AT.T, pair_views(row, 2), half[a])
    return combine(AT.T, list(half), dM)


class Winograd:
    """A 3x3, stride-1 convolution's forward and backward by F(2x2, 3x3), batch last.

    Keeps what backward needs (the transformed kernels U and tiles V) and its scratch arrays
    from step to step (``reuse``, layers/speed.py).
    """

    def __init__(self):
        self.padded = self.V = self.M = self.dV = self.rows = self.half = self.dM = None

    def forward(self, x: np.ndarray, w: np.ndarray, padding, out_hw) -> np.ndarray:
        """x (N, C, H, W), w (F, C, 3, 3) -> (F, Ho, Wo, N), the convolution without bias."""
        (N, C, H, W), F = x.shape, w.shape[0]
        (ph, pw), (Ho, Wo) = padding, out_hw
        T1, T2 = self.tiles = (Ho + 1) // 2, (Wo + 1) // 2  # 2x2 blocks, the last maybe cut
        shape = (C, 2 * T1 + 2, 2 * T2 + 2, N)  # padded, and rounded up to whole tiles
        if self.padded is None or self.padded.shape != shape or self.padded.dtype != x.dtype:
            self.padded = np.zeros(shape, x.dtype)  # the border: zeros, once
        self.padded[:, ph : ph + H, pw : pw + W] = x.transpose(1, 2, 3, 0)
        P = T1 * T2 * N
        self.U = weight_transform(w)  # (16, F, C)
        V = reuse(self.V, (4, 4, C, T1, T2, N), x.dtype)
        self.rows = reuse(self.rows, (4, C, shape[1], T2, N), x.dtype)  # scratch
        self.V = input_transform(self.padded, self.tiles, V, self.rows).reshape(16, C, P)
        self.M = np.matmul(self.U, self.V, out=reuse(self.M, (16, F, P), x.dtype))
        self.half = reuse(self.half, (2, 4, F, T1, T2, N), x.dtype)  # scratch
        y = np.empty((F, 2 * T1, 2 * T2, N), x.dtype)  # returned: new every step
        output_transform(self.M.reshape(4, 4, F, T1, T2, N), y, self.half)
        return y if (2 * T1, 2 * T2) == (Ho, Wo) else np.ascontiguousarray(y[:, :Ho, :Wo])

    def backward(self, dy: np.ndarray, input_grad: bool):
        """dy (F, Ho, Wo, N) -> (dw (F, C, 3, 3), dL/d(padded input) (C, Hp, Wp, N) or None)."""
        F, Ho, Wo, N = dy.shape
        T1, T2 = self.tiles
        if (2 * T1, 2 * T2) != (Ho, Wo):  # the cut blocks: their missing outputs get zeros
            full = np.zeros((F, 2 * T1, 2 * T2, N), dy.dtype)
            full[:, :Ho, :Wo] = dy
            dy = full
        self.dM = reuse(self.dM, self.M.shape, dy.dtype)
        self.half = reuse(self.half, (2, 4, F, T1, T2, N), dy.dtype)
        dM = output_transform_backward(dy, self.dM.reshape(4, 4, F, T1, T2, N), self.half)
        dM = dM.reshape(16, F, -1)
        dw = weight_transform_backward(np.matmul(dM, self.V.transpose(0, 2, 1)))  # dM Vᵀ
        if not input_grad:
            return dw, None
        C = self.V.shape[1]
        self.dV = np.matmul(
            self.U.transpose(0, 2, 1), dM, out=reuse(self.dV, self.V.shape, dM.dtype)
        )
        dxp = np.empty(self.padded.shape, dM.dtype)  # returned (as a view): new every step
        return dw, input_transform_backward(self.dV.reshape(4, 4, C, T1, T2, N), dxp, self.rows)


def winograd_step(conv: Conv2d, x: np.ndarray, g: np.ndarray, state: Winograd):
    """One forward and backward of ``conv`` (3x3, stride 1) by Winograd: (y, dx, dw, db),
    NCHW as Conv2d returns them."""
    N, F, Ho, Wo = g.shape
    H, W = x.shape[2:]
    ph, pw = conv.padding
    y = state.forward(x, conv.weight.data, (ph, pw), (Ho, Wo))
    y += conv.bias.data[:, None, None, None]
    dy = np.ascontiguousarray(g.transpose(1, 2, 3, 0))  # (F, Ho, Wo, N), as Conv2d makes it
    db = dy.reshape(F, -1) @ np.ones(Ho * Wo * N, dy.dtype)
    dw, dxp = state.backward(dy, True)
    return y.transpose(3, 0, 1, 2), dxp[:, ph : ph + H, pw : pw + W].transpose(3, 0, 1, 2), dw, db


def im2col_step(conv: Conv2d, x: np.ndarray, g: np.ndarray):
    """The same with ``Conv2d`` as it is: (y, dx, dw, db)."""
    conv.weight.grad[...] = 0
    conv.bias.grad[...] = 0
    y = conv.forward(x)
    dx = conv.backward(g)
    return y, dx, conv.weight.grad.copy(), conv.bias.grad.copy()


#: the 3x3 stride-1 convolutions of the presets: (C_in, C_out, size, batch, where)
LAYERS = [
    (16, 32, 14, 64, "lenet conv2, bench batch"),
    (16, 32, 14, 128, "lenet conv2, train batch"),
    (32, 32, 14, 64, "resnet stage 1"),
    (64, 64, 7, 64, "resnet stage 2"),
]


def agree(dtype, tol) -> None:
    """Winograd equals Conv2d on odd and even sizes and paddings (raises if not)."""
    rng = np.random.default_rng(0)
    for C, F, H, N, pad in [(3, 4, 5, 2, 0), (3, 4, 6, 3, 2), (16, 8, 7, 2, 1), (16, 5, 8, 3, 1)]:
        conv = Conv2d(C, F, 3, padding=pad, rng=1, dtype=dtype)
        x = rng.standard_normal((N, C, H, H)).astype(dtype)
        g = rng.standard_normal(conv.output_shape(x.shape)).astype(dtype)
        ours, theirs = winograd_step(conv, x, g, Winograd()), im2col_step(conv, x, g)
        for name, a, b in zip(("y", "dx", "dw", "db"), ours, theirs):
            err = np.abs(a - b).max() / np.abs(b).max()
            if err > tol:
                raise AssertionError(f"{name} differs from Conv2d: relative {err:.1e} ({dtype})")


def median_ms(step, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return 1e3 * float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int_in(1), default=20)
    args = p.parse_args()
    agree(np.float64, 1e-12)
    agree(np.float32, 1e-5)
    print("Winograd F(2x2, 3x3) equals Conv2d (float64 to 1e-12, float32 to 1e-5)")
    print(f"one forward + backward, CPU ms, median of {args.repeats}, 1 thread:")
    labels = [f"{C}->{F} at {H}x{H}, batch {N} ({where})" for C, F, H, N, where in LAYERS]
    width = max(map(len, labels))  # the columns line up under their heads
    print(f"{'layer':{width}s} {'im2col':>8s} {'winograd':>9s}")
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for (C, F, H, N, _), label in zip(LAYERS, labels):
            conv = Conv2d(C, F, 3, padding=1, rng=0)
            # batch-last input and gradient views, as the layers before hand them over
            x = rng.standard_normal((C, H, H, N)).astype(np.float32).transpose(3, 0, 1, 2)
            g = rng.standard_normal((F, H, H, N)).astype(np.float32).transpose(3, 0, 1, 2)
            state = Winograd()
            ms = [
                median_ms(lambda c=conv, x=x, g=g: im2col_step(c, x, g), args.repeats),
                median_ms(
                    lambda c=conv, x=x, g=g, s=state: winograd_step(c, x, g, s), args.repeats
                ),
            ]
            print(f"{label:{width}s} {ms[0]:8.2f} {ms[1]:9.2f}")


if __name__ == "__main__":
    main()
