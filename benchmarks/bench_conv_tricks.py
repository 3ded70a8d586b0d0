"""Each speed trick of Conv2d's three matrix products, timed against the plain formula.

    python benchmarks/bench_conv_tricks.py            # 1 and 2 BLAS threads, batch 64 and 256

For the convolutions of the seed net and the LeNet-style net (float32, MNIST-sized inputs),
prints the best time over repeats (ms) of:

    forward   w @ cols              vs  matmul_in_blocks(w, cols)     (blocks of columns)
    dW        g @ cols.T            vs  weight_grad(g, cols)          (transposed, in blocks)
    db        g.sum(axis=1)         vs  bias_grad(g)                  (g @ ones)

and of col2im, the input gradient's scatter, with each kernel tap's rows added through
NumPy's buffers against in place (``rows_in_place`` in layers/speed.py), for the
convolutions of LeNet and the resnet whose input gradient is computed,

and the speed-up of the trick (> 1: the trick is faster).  The tricks' docstrings in
src/cnn_numpy/layers/conv.py say why each one can pay; docs/performance.md has the table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from cnn_numpy.layers import speed
from cnn_numpy.layers.conv import bias_grad, col2im, matmul_in_blocks, weight_grad
from cnn_numpy.tools.cli.common import int_in

#: (name, C*kh*kw, F, Ho*Wo) of each convolution in the presets, for 28x28 inputs
CONVS = [
    ("seed conv1", 9, 8, 26 * 26),
    ("lenet conv1", 9, 16, 28 * 28),
    ("lenet conv2", 144, 32, 14 * 14),
]

#: (name, C_in, H = W of the input, stride) of the 3x3, padding 1 convolutions whose input
#: gradient the presets compute (col2im); batch-last, as Conv2d lays them out
COL2IM = [
    ("lenet conv2", 16, 14, 1),
    ("resnet 32 ch", 32, 14, 1),
    ("resnet 64 ch", 64, 7, 1),
    ("resnet 16 ch, stride 2", 16, 28, 2),
]


def best_ms(repeats: int, f, *args) -> float:
    f(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def plain_forward(w, cols):
    return w @ cols


def plain_weight_grad(g, cols):
    return g @ cols.T


def plain_bias_grad(g):
    return g.sum(axis=1)


def timings(k: int, f: int, pixels: int, repeats: int, rng) -> list[tuple[float, float]]:
    """(plain ms, trick ms) of the forward product, dW and db for one convolution."""
    cols = rng.random((k, pixels), dtype=np.float32)
    g = rng.random((f, pixels), dtype=np.float32)
    w = rng.random((f, k), dtype=np.float32)
    return [
        (best_ms(repeats, plain_forward, w, cols), best_ms(repeats, matmul_in_blocks, w, cols)),
        (best_ms(repeats, plain_weight_grad, g, cols), best_ms(repeats, weight_grad, g, cols)),
        (best_ms(repeats, plain_bias_grad, g), best_ms(repeats, bias_grad, g)),
    ]


def col2im_timings(c: int, size: int, stride: int, n: int, repeats: int, rng):
    """(through NumPy's buffers, rows in place) ms of one col2im, 3x3 kernel, padding 1."""
    out = (size + 2 - 3) // stride + 1
    dcols = rng.random((c * 9, out * out * n), dtype=np.float32)
    args = (dcols, (c, size + 2, size + 2, n), 3, 3, stride, stride, out, out)
    in_place = best_ms(repeats, col2im, *args)
    long_row, speed.LONG_ROW = speed.LONG_ROW, 2**62  # no row is long: buffers throughout
    try:
        buffered = best_ms(repeats, col2im, *args)
    finally:
        speed.LONG_ROW = long_row
    return buffered, in_place


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int_in(1), default=50)
    parser.add_argument("--threads", type=int_in(1), nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int_in(1), nargs="+", default=[64, 256])
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(
        "| threads | batch | conv | forward plain / blocks | dW plain / trick | "
        "db sum / ones | speed-ups |"
    )
    print("|---|---|---|---|---|---|---|")
    for threads in args.threads:
        with threadpool_limits(threads, "blas"):
            for n in args.batch:
                for name, k, f, p in CONVS:
                    fwd, dw, db = timings(k, f, p * n, args.repeats, rng)
                    ups = " ".join(f"{a / b:.2f}x" for a, b in (fwd, dw, db))
                    print(
                        f"| {threads} | {n} | {name} | {fwd[0]:.2f} / {fwd[1]:.2f} | "
                        f"{dw[0]:.2f} / {dw[1]:.2f} | {db[0]:.3f} / {db[1]:.3f} | {ups} |",
                        flush=True,
                    )
    print("\n| batch | col2im of | buffers ms | rows in place ms | speed-up |")
    print("|---|---|---|---|---|")
    for n in args.batch:
        for name, c, size, stride in COL2IM:
            buffered, in_place = col2im_timings(c, size, stride, n, args.repeats, rng)
            print(
                f"| {n} | {name} | {buffered:.3f} | {in_place:.3f} | {buffered / in_place:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
