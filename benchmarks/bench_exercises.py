"""How much slower a learner's loop-based convolution is than the library's Conv2d.

    python benchmarks/bench_exercises.py                       # the hand-written workbook
    python benchmarks/bench_exercises.py --workbook my-cnn     # yours

Times forward + backward (ms per batch of --batch, float32, one BLAS thread by default) on
the seed net's and LeNet's convolutions of MNIST-sized images, in interleaved rounds (the
library right before the other, so a busy moment of a shared machine slows both), for:

    library       cnn_numpy.Conv2d: im2col, one matrix product (src/cnn_numpy/layers/conv.py)
    workbook      conv2d_forward/backward of a workbook (default: the hand-written solution
                  in tests/tools/exercises/solution/, which loops over output pixels and
                  lets np.tensordot do each window for the whole batch)
    four loops    the textbook's first version (below): loops over n, f, i, j, one np.sum
                  per output number

and the median of the paired ratios: how many times slower each is than the library.  The four loops take seconds per batch:
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
from cnn_numpy.tools.cli.common import int_in

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


def workbook(text: str) -> Path:
    """--workbook: a folder made by ``cnn-numpy exercises start``, with its conv2d.py."""
    folder = Path(text)
    if not (folder / "conv2d.py").is_file():
        raise argparse.ArgumentTypeError(
            f"{text} holds no conv2d.py; make a workbook with: cnn-numpy exercises start {text}"
        )
    return folder


def load_workbook_conv(folder: Path):
    spec = importlib.util.spec_from_file_location("workbook_conv2d", folder / "conv2d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.conv2d_forward, module.conv2d_backward


def seconds(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbook", type=workbook, default=SOLUTION)
    parser.add_argument("--batch", type=int_in(1), default=64)
    parser.add_argument("--naive-batch", type=int_in(1), default=2)
    parser.add_argument("--naive-repeats", type=int_in(1), default=3)
    parser.add_argument("--repeats", type=int_in(1), default=9)
    parser.add_argument(
        "--threads", type=int_in(1), default=1, help="BLAS threads for both (default 1: steadier)"
    )
    args = parser.parse_args()
    forward, backward = load_workbook_conv(args.workbook)
    rng = np.random.default_rng(0)
    print(
        f"forward + backward, ms per batch of {args.batch} (medians of {args.repeats} paired rounds, "
        f"{args.threads} BLAS thread(s))"
    )
    print(
        f"{'conv':<12} {'library':>9} {'workbook':>10} {'x slower':>9} {'4 loops':>10} {'x slower':>9}"
    )
    with threadpool_limits(args.threads):
        for conv in CONVS:
            try:
                print(row(conv, args, forward, backward, rng), flush=True)
            except NotImplementedError:  # the stub's line is still there
                raise SystemExit(
                    f"error: {args.workbook / 'conv2d.py'}: conv2d_forward or conv2d_backward is "
                    f"not written yet (cnn-numpy exercises check {args.workbook} conv2d shows what)"
                ) from None


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

    # interleaved rounds, paired ratios: each round times the library right before the
    # others, so a busy moment of the shared machine slows both sides of a ratio
    library(), workbook()  # warm-up
    rounds = []
    for _ in range(args.repeats):
        ours, theirs = seconds(library), seconds(workbook)
        rounds.append((ours, theirs, theirs / ours))
    naive_rounds = []
    for _ in range(args.naive_repeats):
        ours, naive = seconds(library), seconds(four_loops) * args.batch / args.naive_batch
        naive_rounds.append((naive, naive / ours))
    ours, theirs, ratio = np.median(rounds, axis=0)
    naive, naive_ratio = np.median(naive_rounds, axis=0)
    return (
        f"{name:<12} {ours * 1e3:>9.2f} {theirs * 1e3:>10.1f} {times(ratio):>9} "
        f"{naive * 1e3:>10.0f} {times(naive_ratio):>9}"
    )


def times(ratio: float) -> str:
    """A ratio to two significant digits at least: 0.62, 8.1, 110, 3142."""
    return f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.2g}"


if __name__ == "__main__":
    main()
