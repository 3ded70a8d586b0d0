"""How much slower a learner's loop-based convolution is than the library's Conv2d.

    python benchmarks/bench_exercises.py                       # the hand-written workbook
    python benchmarks/bench_exercises.py --workbook my-cnn     # yours

Times forward + backward (median of --repeats, ms per batch, float32 inputs) on the seed net's
and LeNet's convolutions of MNIST-sized images for:

    library       cnn_numpy.Conv2d: im2col, one matrix product (src/cnn_numpy/layers/conv.py)
    workbook      conv2d_forward/backward of a workbook (default: the hand-written solution
                  in tests/tools/exercises/solution/, which loops over output pixels and
                  lets np.tensordot do each window for the whole batch)
    four loops    the textbook's first version (below): loops over n, f, i, j, one np.sum
                  per output number

and how many times slower each is than the library.  The four loops take seconds per batch:
they run on --naive-batch images and are scaled to the batch (time grows linearly with it).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from cnn_numpy import Conv2d

SOLUTION = Path(__file__).resolve().parents[1] / "tests" / "tools" / "exercises" / "solution"
#: (name, C, F, H, padding) of each convolution in the presets, for 28x28 inputs (3x3 kernels)
CONVS = [("seed conv1", 1, 8, 28, 0), ("lenet conv1", 1, 16, 28, 1), ("lenet conv2", 16, 32, 14, 1)]


def four_loops_forward(x, weight, bias, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    H_out, W_out = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    out[n, f, i, j] = np.sum(window * weight[f]) + bias[f]
    return out, (xp, weight, stride, padding, x.shape)


def four_loops_backward(dout, cache):
    xp, weight, stride, padding, (N, C, H, W) = cache
    F, _, kh, kw = weight.shape
    dxp, dweight = np.zeros_like(xp), np.zeros_like(weight)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows = slice(i * stride, i * stride + kh)
                    cols = slice(j * stride, j * stride + kw)
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * weight[f]
                    dweight[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
    dx = dxp[:, :, padding : padding + H, padding : padding + W]
    return dx, dweight, dout.sum(axis=(0, 2, 3))


def load_workbook_conv(folder: Path):
    spec = importlib.util.spec_from_file_location("workbook_conv2d", folder / "conv2d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.conv2d_forward, module.conv2d_backward


def median_seconds(repeats: int, step) -> float:
    """The median over ``repeats`` runs after one warm-up: on a shared machine the best run
    catches a quiet moment (we saw 2 ms and 130 ms for the same Conv2d step), the median
    the usual one."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbook", type=Path, default=SOLUTION)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--naive-batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS threads for both (default 1: steadier)"
    )
    args = parser.parse_args()
    forward, backward = load_workbook_conv(args.workbook)
    rng = np.random.default_rng(0)
    print(
        f"forward + backward, ms per batch of {args.batch} (median of {args.repeats}, "
        f"{args.threads} BLAS thread(s))"
    )
    print(
        f"{'conv':<12} {'library':>9} {'workbook':>10} {'x slower':>9} {'4 loops':>10} {'x slower':>9}"
    )
    with threadpool_limits(args.threads):
        for conv in CONVS:
            print(row(conv, args, forward, backward, rng), flush=True)


def row(conv, args, forward, backward, rng) -> str:
    """One convolution's line of the table."""
    name, c, f, size, padding = conv
    layer = Conv2d(c, f, 3, padding=padding, rng=0)
    x = rng.standard_normal((args.batch, c, size, size)).astype(np.float32)
    dout = rng.standard_normal(layer.output_shape(x.shape)).astype(np.float32)
    w, b, few = layer.weight.data, layer.bias.data, slice(0, args.naive_batch)

    def library():
        layer.forward(x)
        layer.backward(dout)

    def workbook():
        backward(dout, forward(x, w, b, 1, padding)[1])

    def four_loops():
        four_loops_backward(dout[few], four_loops_forward(x[few], w, b, 1, padding)[1])

    ours = median_seconds(args.repeats, library) * 1e3
    theirs = median_seconds(args.repeats, workbook) * 1e3
    naive = median_seconds(1, four_loops) * 1e3 * args.batch / args.naive_batch
    return (
        f"{name:<12} {ours:>9.2f} {theirs:>10.1f} {theirs / ours:>9.0f} {naive:>10.0f} "
        f"{naive / ours:>9.0f}"
    )


if __name__ == "__main__":
    main()
