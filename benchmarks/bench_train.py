"""cnn-numpy beside PyTorch (CPU): training and inference speed, GEMM efficiency, memory.

    python benchmarks/bench_train.py                  # the full table (about 10 minutes)
    python benchmarks/bench_train.py --threads 1      # one thread count only
    python benchmarks/bench_train.py --quick          # a smoke run of every code path (seconds)
    python benchmarks/bench_train.py --profile        # time per layer (profile_layers.py)

For each net (the seed net and the LeNet-style net, 10 classes, float32 28x28 inputs),
batch size and thread count, the two libraries are timed *interleaved*, round after round,
on the same random batch, with SGD (momentum 0.9): images/s of a training step
(zero_grad -> forward -> loss -> backward -> step) and of inference (forward in eval mode).
The table gives medians over the rounds and the paired ratio cnn-numpy / PyTorch (the
median of the per-round ratios, so that load from other programs cancels out).

GFLOP/s counts the matrix-product work of a training step (forward, weight gradient and,
except for the first layer, input gradient of every Conv2d and Linear) and compares it with
the float32 GEMM peak NumPy reaches here (a 1024x1024 product).  The epoch columns train one
full 60,000-image epoch (batch 64) in a fresh subprocess per library, so the peak resident
memory (RSS) of each is its own.  Threads: BLAS via threadpoolctl, PyTorch via
``torch.set_num_threads``.  PyTorch is optional: without it only cnn-numpy is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cnn_numpy import (
    SGD,
    Conv2d,
    CrossEntropyLoss,
    DataParallel,
    Linear,
    fit,
    keep_freed_memory,
    lenet,
    seed_net,
)

torch = None  # imported by load_torch(), never in the cnn-numpy epoch subprocess (its RSS)


def load_torch() -> None:
    global torch
    try:
        import torch
    except ImportError:  # PyTorch is optional
        torch = None


NETS = {"seed": lambda: seed_net(num_classes=10, rng=0), "lenet": lambda: lenet(rng=0)}


def torch_twin(model):
    """The same net in PyTorch, starting from the same weights."""
    nn = torch.nn
    layers = []
    for layer in model:
        name = type(layer).__name__
        if name == "Conv2d":
            layers.append(
                nn.Conv2d(
                    layer.in_channels,
                    layer.out_channels,
                    layer.kernel_size,
                    layer.stride,
                    layer.padding,
                )
            )
        elif name == "Linear":
            layers.append(nn.Linear(layer.in_features, layer.out_features))
        elif name == "MaxPool2d":
            layers.append(nn.MaxPool2d(layer.kernel_size, layer.stride))
        else:
            layers.append(getattr(nn, name)())
    twin = nn.Sequential(*layers)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin


def train_flops_per_image(model, image_shape=(1, 28, 28)) -> int:
    """Multiply-adds x 2 of the matrix products in one training step, per image: forward,
    weight gradient and (all but the first layer, whose input needs none) input gradient."""
    flops, shape = 0, (1, *image_shape)
    for i, layer in enumerate(model):
        out = layer.output_shape(shape)
        if isinstance(layer, Conv2d):
            macs = int(np.prod(out)) * layer.in_channels * int(np.prod(layer.kernel_size))
        elif isinstance(layer, Linear):
            macs = layer.in_features * layer.out_features
        else:
            macs = 0
        flops += 2 * macs * (2 if i == 0 else 3)
        shape = out
    return flops


def gemm_peak(seconds: float, n: int = 1024) -> float:
    """Best float32 GFLOP/s of an n x n x n NumPy matrix product (run under the thread limit)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    best, end = 0.0, time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        a @ b
        now = time.perf_counter()
        best = max(best, 2 * n**3 / (now - start) / 1e9)
        if now > end:
            return best


def images_per_second(step, batch_size: int, seconds: float, warmup: float = 0.2) -> float:
    """Run ``step`` until ``seconds`` have passed; images per second.

    Timing starts after ``warmup`` seconds (and at least two steps) of the same work: the
    previous measurement may have left threads spinning (OpenBLAS's wait up to about 0.1 s
    for more work before they sleep), and they must not take this one's cores."""
    step()
    step()
    start = time.perf_counter()
    while time.perf_counter() - start < warmup:
        step()
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps * batch_size / elapsed


def numpy_steps(model, x, y):
    loss, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train():
        model.train()
        opt.zero_grad()
        loss.forward(model.forward(x), y)
        model.needs_input_grad = False  # as fit does: the images need no gradient
        model.backward(loss.backward())
        opt.step()

    def infer():
        model.eval()
        model.forward(x)

    return train, infer


def torch_steps(model, x, y):
    net, x, y = torch_twin(model), torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def train():
        net.train()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    def infer():
        net.eval()
        with torch.inference_mode():
            net(x)

    return train, infer


def set_threads(threads: int):
    """Limit BLAS/OpenMP (threadpoolctl) and PyTorch to ``threads``; returns the limiter."""
    from threadpoolctl import threadpool_limits

    if torch is not None:
        torch.set_num_threads(threads)
    return threadpool_limits(limits=threads)


#: how cnn-numpy uses the threads: one net whose matrix products run on ``threads`` BLAS
#: threads, or ``DataParallel``: ``threads`` worker processes, each on a slice of the batch
MODES = {"numpy": "BLAS threads", "numpy_dp": "DataParallel"}


def numpy_model(lib: str, net: str, threads: int):
    model = NETS[net]()
    return DataParallel(model, threads) if lib == "numpy_dp" else model


def measure(net: str, batch: int, threads: int, rounds: int, seconds: float) -> dict:
    """Interleaved rounds of the libraries; medians and paired ratios."""
    rng = np.random.default_rng(0)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    libs = {
        lib: numpy_steps(numpy_model(lib, net, threads), x, y)
        for lib in MODES
        if lib == "numpy" or threads > 1
    }
    if torch is not None:
        libs["torch"] = torch_steps(NETS[net](), x, y)
    rates = {(lib, kind): [] for lib in libs for kind in ("train", "infer")}
    with set_threads(threads):
        for r in range(rounds):
            order = list(libs) if r % 2 == 0 else list(reversed(libs))  # alternate who goes first
            for kind, k in (("train", 0), ("infer", 1)):
                for lib in order:
                    rates[lib, kind].append(
                        images_per_second(libs[lib][k], batch, seconds, min(0.2, seconds))
                    )
    result = {f"{lib}_{kind}": float(np.median(v)) for (lib, kind), v in rates.items()}
    if torch is not None:
        for lib in libs.keys() - {"torch"}:
            for kind in ("train", "infer"):
                ratios = np.divide(rates[lib, kind], rates["torch", kind])
                result[f"{lib}_ratio_{kind}"] = float(np.median(ratios))
    return result


def run_epoch(lib: str, net: str, batch: int, threads: int, images: int) -> dict:
    """One training epoch over ``images`` random images (run in a fresh subprocess)."""
    rng = np.random.default_rng(0)
    X = rng.random((images, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, images)
    model = numpy_model(lib, net, threads) if lib != "torch" else NETS[net]()
    with set_threads(threads):
        if lib != "torch":
            opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
            history = fit(
                model,
                CrossEntropyLoss(),
                opt,
                (X, y),
                epochs=1,
                batch_size=batch,
                rng=0,
                callbacks=[],
            )
            seconds = history.seconds[0]
            # DataParallel's worker processes count too (the shared weights twice: a few MB)
            workers_mb = sum(peak_rss_mb(w.process.pid) for w in getattr(model, "pool", []))
            return {"seconds": seconds, "rss_mb": peak_rss_mb() + workers_mb}
        else:  # the same loop as fit: shuffle, step, running loss and accuracy
            net_t, Xt, yt = torch_twin(model), torch.from_numpy(X), torch.from_numpy(y)
            opt = torch.optim.SGD(net_t.parameters(), lr=0.01, momentum=0.9)
            start, total, correct = time.perf_counter(), 0.0, 0
            order = torch.from_numpy(rng.permutation(images))
            for i in range(0, images, batch):
                idx = order[i : i + batch]
                xb, yb = Xt[idx], yt[idx]
                opt.zero_grad()
                logits = net_t(xb)
                loss = torch.nn.functional.cross_entropy(logits, yb)
                loss.backward()
                opt.step()
                total += loss.item() * len(yb)
                correct += int((logits.argmax(1) == yb).sum())
            seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_mb": peak_rss_mb()}


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory.  On Linux, VmHWM of /proc/<pid>/status: unlike
    ru_maxrss, it does not inherit the parent's peak across fork + exec."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    if pid != "self":
        return 0.0  # no /proc: another process's peak is not known here
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def epoch_in_subprocess(lib: str, net: str, batch: int, threads: int, images: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--epoch-child",
        lib,
        net,
        str(batch),
        str(threads),
        str(images),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = next(
        (
            f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ),
        "unknown BLAS",
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    tv = torch.__version__ if torch is not None else "not installed"
    return (
        f"{cpu}, {os.cpu_count()} cores | numpy {np.__version__}, {blas} | torch {tv} | "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} | "
        f"load average {load}"
    )


def fmt(value, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", choices=sorted(NETS), default=["seed", "lenet"])
    parser.add_argument("--batch", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--epoch-images", type=int, default=60_000)
    parser.add_argument("--epoch-batch", type=int, default=64)
    parser.add_argument("--no-epoch", action="store_true", help="skip the full-epoch columns")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny and fast")
    parser.add_argument("--profile", action="store_true", help="per-layer times instead")
    parser.add_argument("--epoch-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # as fit does: malloc keeps freed memory (no page faults); PyTorch shares the process, and
    # its epoch subprocess does the same, so both libraries run under the same allocator
    keep_freed_memory()

    if args.epoch_child:
        lib, net, batch, threads, images = args.epoch_child
        if lib == "torch":
            load_torch()
        print(json.dumps(run_epoch(lib, net, int(batch), int(threads), int(images))))
        return
    load_torch()
    if args.quick:
        args.batch, args.threads, args.rounds, args.seconds = [8], [1, 2], 1, 0.02
        args.epoch_images, args.epoch_batch = 256, 32
    if args.profile:
        sys.path.insert(0, str(Path(__file__).parent))
        from profile_layers import main as profile

        for net in args.nets:
            for batch in args.batch:
                for threads in args.threads:
                    profile(
                        ["--net", net, "--batch", str(batch), "--threads", str(threads)]
                        + (["--steps", "8"] if args.quick else [])
                    )
        return

    print(machine())
    peaks = {}
    for threads in args.threads:
        with set_threads(threads):
            peaks[threads] = gemm_peak(0.2 if args.quick else 3.0)
    print(
        "float32 GEMM peak (1024^3): "
        + ", ".join(f"{t} thread(s) {p:.0f} GFLOP/s" for t, p in peaks.items())
    )

    rows = []
    for threads in args.threads:
        for net in args.nets:
            libs = [lib for lib in MODES if lib == "numpy" or threads > 1]
            epoch = {}
            if not args.no_epoch:
                for lib in libs + (["torch"] if torch is not None else []):
                    epoch[lib] = epoch_in_subprocess(
                        lib, net, args.epoch_batch, threads, args.epoch_images
                    )
            for batch in args.batch:
                r = measure(net, batch, threads, args.rounds, args.seconds)
                flops = train_flops_per_image(NETS[net]())
                first = batch == args.batch[0]
                torch_gf = r.get("torch_train", 0) * flops / 1e9
                for lib in libs:
                    gf = r[f"{lib}_train"] * flops / 1e9
                    rows.append(
                        [
                            net,
                            str(batch),
                            str(threads),
                            MODES[lib],
                            fmt(r[f"{lib}_train"]),
                            fmt(r.get("torch_train")),
                            fmt(r.get(f"{lib}_ratio_train"), ".2f"),
                            fmt(r[f"{lib}_infer"]),
                            fmt(r.get("torch_infer")),
                            fmt(r.get(f"{lib}_ratio_infer"), ".2f"),
                            f"{gf:.1f} ({gf / peaks[threads]:.0%})",
                            f"{torch_gf:.1f} ({torch_gf / peaks[threads]:.0%})" if torch else "-",
                            fmt(epoch.get(lib, {}).get("seconds") if first else None, ".1f"),
                            fmt(epoch.get("torch", {}).get("seconds") if first else None, ".1f"),
                            fmt(epoch.get(lib, {}).get("rss_mb") if first else None),
                            fmt(epoch.get("torch", {}).get("rss_mb") if first else None),
                        ]
                    )
                print(f"  done: {net}, batch {batch}, {threads} thread(s)", file=sys.stderr)
    header = [
        "net",
        "batch",
        "thr",
        "np mode",
        "train np",
        "train torch",
        "ratio",
        "infer np",
        "infer torch",
        "ratio",
        "GFLOP/s np (% peak)",
        "GFLOP/s torch",
        "epoch np s",
        "epoch torch s",
        "RSS np MB",
        "RSS torch MB",
    ]
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(header)]
    print(
        f"\nimages/s (median of {args.rounds} interleaved rounds); ratio = cnn-numpy / PyTorch; "
        f"epoch = {args.epoch_images:,} images at batch {args.epoch_batch}"
    )
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
