"""cnn-numpy beside PyTorch (CPU), each library in its own process, as users run them.

    python benchmarks/bench_train.py               # the three workloads, best of 5 rounds
    python benchmarks/bench_train.py --scaling     # time per step: LeNet by batch, deep by size
    python benchmarks/bench_train.py --quick       # a smoke run of every code path (seconds)
    python benchmarks/bench_train.py --profile     # time per layer (profile_layers.py)

Workloads: LeNet training at 1 thread; LeNet with ``DataParallel(2)`` against PyTorch on 2
threads; the seed net at 1 thread.  Each round starts one fresh process per library, in
alternating order (cnn-numpy first in even rounds, PyTorch first in odd ones), and each
process trains on the same random images in the same shuffled order: cnn-numpy through
``fit`` (after ``keep_freed_memory()``, as ``cnn-numpy train`` does), PyTorch through the
plain loop of its tutorials.  Why separate processes: ``keep_freed_memory()`` is a setting
of the whole process and speeds PyTorch up too, so in one process the comparison is not
the one users see.  The table gives the best images/s of each library over the rounds
(the round least disturbed by other programs), the spread (worst-best), the ratio of the
bests and the range of the per-round ratios.  The CPU-time ratio compares the CPU
seconds each process spent per image (1 thread only), which other programs on a busy machine
disturb much less than wall time.  ``--against DIR`` also times the cnn-numpy in DIR (an older
commit's checkout) in the same alternating rounds.  ``--scaling`` times single training steps
(zero_grad, forward, loss, backward, SGD step) the same way.  Every table is headed by the
CPU (model, AVX-512 or not), the BLAS NumPy uses, the float32 GEMM peak and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: (name, net, threads, cnn-numpy uses DataParallel)
WORKLOADS = [
    ("LeNet, 1 thread", "lenet", 1, False),
    ("LeNet, 2 cores: DataParallel(2) vs torch 2 threads", "lenet", 2, True),
    ("seed net, 1 thread", "seed", 1, False),
]
#: --scaling: (net, image size, batch), one thread
SCALING = [("lenet", 28, b) for b in (1, 8, 32, 128, 512)] + [
    ("deep", s, 32) for s in (28, 56, 112)
]


def build(net: str, size: int = 28):
    from cnn_numpy import deep, lenet, seed_net

    if net == "seed":
        return seed_net(num_classes=10, image_size=size, rng=0)
    return (lenet if net == "lenet" else deep)(10, image_size=size, rng=0)


def torch_twin(model):
    """The same net in PyTorch, from the same weights."""
    import torch

    nn, layers = torch.nn, []
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
                    bias=layer.bias is not None,
                )
            )
        elif name == "Linear":
            layers.append(
                nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
            )
        elif name == "MaxPool2d":
            layers.append(nn.MaxPool2d(layer.kernel_size, layer.stride))
        elif name.startswith("BatchNorm"):
            layers.append(getattr(nn, name)(layer.num_features))
        elif name == "Dropout":
            layers.append(nn.Dropout(layer.p))
        else:
            layers.append(getattr(nn, name)())
    twin = nn.Sequential(*layers)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory (VmHWM of /proc/<pid>/status; 0 where unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def numpy_child(job: dict) -> dict:
    from threadpoolctl import threadpool_limits

    from cnn_numpy import SGD, CrossEntropyLoss, DataParallel, fit, keep_freed_memory

    keep_freed_memory()  # as cnn-numpy train does
    X, y = job_data(job)
    model = build(job["net"], job["size"])
    trained = DataParallel(model, job["threads"]) if job["dp"] else model
    with threadpool_limits(job["threads"], user_api="blas"):
        opt, loss = SGD(model.parameters(), lr=0.01, momentum=0.9), CrossEntropyLoss()
        if job["steps"]:  # --scaling: single steps
            result = time_steps(job, lambda xb, yb: numpy_step(trained, loss, opt, xb, yb), X, y)
        else:
            b = job["batch"]
            fit(trained, loss, opt, (X[: 4 * b], y[: 4 * b]), 1, b, rng=1, callbacks=[])
            cpu = time.process_time()
            seconds = fit(trained, loss, opt, (X, y), 1, b, rng=0, callbacks=[]).seconds[0]
            cpu = time.process_time() - cpu
            result = {"images_per_s": len(X) / seconds, "images_per_cpu_s": len(X) / cpu}
    pool = getattr(trained, "pool", [])
    result["rss_mb"] = peak_rss_mb() + sum(peak_rss_mb(w.process.pid) for w in pool)
    if job["dp"]:
        trained.close()
    return result


def numpy_step(model, loss, opt, xb, yb) -> None:
    opt.zero_grad()
    loss.forward(model.forward(xb), yb)
    model.needs_input_grad = False  # as fit does: nobody needs dL/d(images)
    model.backward(loss.backward())
    opt.step()


def torch_child(job: dict) -> dict:
    import torch

    torch.set_num_threads(job["threads"])
    X, y = job_data(job)
    net = torch_twin(build(job["net"], job["size"]))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step(xb, yb):
        opt.zero_grad()
        logits = net(xb)
        batch_loss = torch.nn.functional.cross_entropy(logits, yb)
        batch_loss.backward()
        opt.step()
        return logits, batch_loss

    if job["steps"]:
        result = time_steps(job, step, Xt, yt)
    else:  # fit's loop: shuffle, step, running loss and accuracy
        b, order = job["batch"], torch.from_numpy(np.random.default_rng(0).permutation(len(X)))
        for i in range(0, 4 * b, b):
            step(Xt[i : i + b], yt[i : i + b])
        start, cpu, total, correct = time.perf_counter(), time.process_time(), 0.0, 0
        for i in range(0, len(X), b):
            idx = order[i : i + b]
            logits, batch_loss = step(Xt[idx], yt[idx])
            total += batch_loss.item() * len(idx)
            correct += int((logits.argmax(1) == yt[idx]).sum())
        result = {
            "images_per_s": len(X) / (time.perf_counter() - start),
            "images_per_cpu_s": len(X) / (time.process_time() - cpu),
        }
    result["rss_mb"] = peak_rss_mb()
    result["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return result


def job_data(job: dict):
    rng = np.random.default_rng(0)
    n = job["batch"] * 8 if job["steps"] else job["images"]
    X = rng.random((n, 1, job["size"], job["size"]), dtype=np.float32)
    return X, rng.integers(0, 10, n)


def time_steps(job: dict, step, X, y) -> dict:
    """Median seconds per step, wall and CPU time of this process, over ``job["seconds"]``
    (after 3 warm-up steps)."""
    b, wall, cpu, i = job["batch"], [], [], 0
    for i in range(3):
        step(X[i * b : (i + 1) * b], y[i * b : (i + 1) * b])
    while sum(wall) < job["seconds"] or len(wall) < 5:
        k = (i % 8) * b
        start, start_cpu = time.perf_counter(), time.process_time()
        step(X[k : k + b], y[k : k + b])
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        i += 1
    return {"median_ms": 1e3 * float(np.median(wall)), "cpu_ms": 1e3 * float(np.median(cpu))}


#: --against: the source tree of an older cnn-numpy, timed as the library "older"
AGAINST: dict[str, str] = {}


def checkout(text: str) -> Path:
    """--against's folder: the root of a cnn-numpy source tree (a checkout, or a ``git archive``
    of one).  Checked, because its src/ only goes on PYTHONPATH: without a cnn_numpy there the
    "older" process would import this checkout's installed one and time it against itself."""
    root = Path(text).resolve()
    if not (root / "src" / "cnn_numpy" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(
            f"{text} is not a cnn-numpy source tree (no src/cnn_numpy/__init__.py in it); give "
            "the root of an older checkout, e.g. git worktree add /tmp/old COMMIT"
        )
    return root


def run_child(lib: str, **job) -> dict:
    """One fresh process of ``lib`` ("numpy", "torch" or "older": cnn-numpy from --against)."""
    env = dict(os.environ)
    if lib == "older":
        env["PYTHONPATH"] = AGAINST["src"]
        lib = "numpy"
    cmd = [sys.executable, __file__, "--child", lib, json.dumps(job)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"error: the {lib} process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gemm_peak(seconds: float, n: int = 1024, clock=time.perf_counter) -> float:
    """Best float32 GFLOP/s of an n x n x n NumPy product (run under the thread limit), by
    wall time or (``time.process_time``) CPU time."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = clock()
        a @ b
        spent = clock() - start
        best = max(best, 2 * n**3 / spent / 1e9) if spent > 0 else best
    return best


def machine(quick: bool) -> str:
    """The CPU (model, AVX-512 or not, cores), NumPy's BLAS, the GEMM peak, the load."""
    from threadpoolctl import threadpool_info, threadpool_limits

    info = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = info.get("model name", platform.processor() or platform.machine())
    if "cpu family" in info:
        cpu += f" (family {info['cpu family']}, model {info.get('model')})"
    flags = info.get("flags", "")
    avx = "AVX-512" if "avx512f" in flags.split() else "no AVX-512"
    blas = next(
        (
            f"{i['internal_api']} {i.get('version')} ({i.get('architecture')} kernel)"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ),
        "unknown BLAS",
    )
    with threadpool_limits(1):
        peak1 = gemm_peak(0.2 if quick else 2.0)
        peak_cpu = gemm_peak(0.2 if quick else 2.0, clock=time.process_time)
    try:
        import torch

        tv = f"torch {torch.__version__}"
    except ImportError:
        tv = "torch not installed"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"CPU: {cpu}, {avx}, {os.cpu_count()} cores | numpy {np.__version__}, {blas} | {tv}\n"
        f"float32 GEMM peak (1024^3, 1 thread): {peak1:.0f} GFLOP/s by wall time, "
        f"{peak_cpu:.0f} by CPU time | load average {load}"
    )


def rounds_of(lib_jobs: dict[str, dict], rounds: int) -> dict[str, list[dict]]:
    """``rounds`` rounds, one process per library each, the order alternating."""
    results = {lib: [] for lib in lib_jobs}
    for r in range(rounds):
        order = list(lib_jobs) if r % 2 == 0 else list(reversed(lib_jobs))
        for lib in order:
            results[lib].append(run_child(lib, **lib_jobs[lib]))
    return results


def libraries() -> list[str]:
    older = ["older"] if AGAINST else []
    try:
        import torch  # noqa: F401
    except ImportError:
        return ["numpy", *older]
    return ["numpy", "torch", *older]


def workloads(args) -> None:
    libs = libraries()
    print(f"\nimages/s of training, best of {args.rounds} alternating rounds (spread: worst-best)")
    print(f"batch {args.batch}, {args.images:,} random 28x28 images per round and library\n")
    print(
        "| workload | cnn-numpy | PyTorch | ratio of bests | per-round ratios "
        "| CPU-time ratio | RSS np / torch MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, net, threads, dp in WORKLOADS:
        job = dict(net=net, size=28, batch=args.batch, threads=threads, steps=False)
        job.update(images=args.images, seconds=0, dp=dp)
        res = rounds_of({lib: job for lib in libs}, args.rounds)
        rate = {lib: [r["images_per_s"] for r in res[lib]] for lib in libs}
        cell = {lib: f"{max(v):,.0f} ({min(v):,.0f}-{max(v):,.0f})" for lib, v in rate.items()}
        rss = {lib: max(r["rss_mb"] for r in res[lib]) for lib in libs}
        if "torch" in libs:
            ratios = np.divide(rate["numpy"], rate["torch"])
            ratio = f"**{max(rate['numpy']) / max(rate['torch']):.2f}×**"
            spread = f"{ratios.min():.2f}-{ratios.max():.2f}"
            cpu = {lib: max(r["images_per_cpu_s"] for r in res[lib]) for lib in libs}
            # CPU time per image (this process's): steady on a busy machine; not for 2 cores
            cpu_ratio = "-" if threads > 1 else f"{cpu['numpy'] / cpu['torch']:.2f}×"
            memory = f"{rss['numpy']:.0f} / {rss['torch']:.0f}"
            torch_cells = (cell["torch"], ratio, spread, cpu_ratio, memory)
        else:
            torch_cells = ("-", "-", "-", "-", f"{rss['numpy']:.0f} / -")
        print(f"| {name} | {cell['numpy']} | " + " | ".join(torch_cells) + " |", flush=True)
        if AGAINST:
            older = (
                f"{max(rate['older']):,.0f} ({min(rate['older']):,.0f}-{max(rate['older']):,.0f})"
            )
            speedup = np.divide(rate["numpy"], rate["older"])
            print(
                f"|  (the same with {AGAINST['src']}) | {older} | | this / older: "
                f"{max(rate['numpy']) / max(rate['older']):.2f}× | "
                f"{speedup.min():.2f}-{speedup.max():.2f} | | {max(r['rss_mb'] for r in res['older']):.0f} |",
                flush=True,
            )


def scaling(args) -> None:
    libs = libraries()
    print(f"\nms per training step (1 thread), best of {args.rounds} alternating rounds")
    print("CPU: CPU time of the process per step (steady on a busy machine); wall: wall time")
    print(
        "| net | image | batch | cnn-numpy ms CPU | PyTorch ms CPU | speed ratio CPU "
        "| cnn-numpy ms wall | PyTorch ms wall | speed ratio wall |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for net, size, batch in SCALING[: 2 if args.quick else None]:
        job = dict(net=net, size=size, batch=batch, threads=1, steps=True, dp=False)
        job.update(images=0, seconds=args.seconds)
        res = rounds_of({lib: job for lib in libs}, args.rounds)
        row = dict(net=net, size=size, batch=batch)
        for lib in libs:
            row[f"{lib}_cpu_ms"] = min(r["cpu_ms"] for r in res[lib])
            row[f"{lib}_wall_ms"] = min(r["median_ms"] for r in res[lib])
        cells = []
        for clock in ("cpu", "wall"):
            mine, theirs = row[f"numpy_{clock}_ms"], row.get(f"torch_{clock}_ms")
            cells += [f"{mine:.2f}", "-" if theirs is None else f"{theirs:.2f}"]
            cells.append("-" if theirs is None else f"{theirs / mine:.2f}×")
        print(f"| {net} | {size} | {batch} | " + " | ".join(cells) + " |", flush=True)
        rows.append(row)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)  # as the CLI's outputs
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.plot:
        plot(rows, args.plot)


def plot(rows: list[dict], path: str) -> None:
    """--scaling's rows as a picture: CPU ms per step of both libraries, LeNet by batch size
    (left), the deep preset by image size (right), log scales."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, net, key, label in (
        (axes[0], "lenet", "batch", "batch size (LeNet, 28x28)"),
        (axes[1], "deep", "size", "image size (deep preset, batch 32)"),
    ):
        mine = [r for r in rows if r["net"] == net]
        for lib, name in (("numpy", "cnn-numpy"), ("torch", "PyTorch")):
            points = [(r[key], r[f"{lib}_cpu_ms"]) for r in mine if r.get(f"{lib}_cpu_ms")]
            if points:
                ax.plot(*zip(*points), marker="o", label=name)
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="ms per training step (CPU)")
        if ax.lines:  # --quick times LeNet only: the deep preset's side stays empty
            ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Time per training step, 1 thread, each library in its own process")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def output_file(text: str) -> str:
    """--json: checked before the minutes of timing, as the CLI checks its outputs."""
    from cnn_numpy.tools.cli.common import output_file as check

    return check(text)


def figure_file(text: str) -> str:
    """--plot: a file matplotlib can write (.png, .pdf, .svg, ...), checked up front."""
    from cnn_numpy.tools.cli.common import figure_file as check

    return check(text)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def check_modes(parser: argparse.ArgumentParser, args) -> None:
    """A flag the chosen mode would ignore is an error, not a silent no-op."""
    if args.plot_from and not args.plot:
        parser.error("--plot-from needs --plot: the PNG to draw into")
    if (args.json or args.plot) and not (args.scaling or args.plot_from):
        parser.error("--json and --plot write --scaling's rows: add --scaling")
    if args.plot_from and (args.scaling or args.profile or args.json):
        parser.error("--plot-from only draws an earlier run: no --scaling, --profile or --json")
    if args.scaling and args.profile:
        parser.error("--scaling and --profile are two different runs: choose one")
    if args.scaling and (args.batch or args.images or args.against):
        parser.error(
            "--scaling times its own sizes, both libraries: no --batch, --images, --against"
        )
    if args.seconds is not None and not args.scaling:
        parser.error("--seconds is --scaling's time per process: add --scaling")
    if args.profile and (args.against or args.images or args.rounds):
        parser.error(
            "--profile times this checkout's layers once: no --against, --images, --rounds"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=positive, help="alternating rounds (5; --quick: 1)")
    parser.add_argument("--batch", type=positive, help="the workloads' batch size (64)")
    parser.add_argument("--images", type=positive, help="images per round (12,800)")
    parser.add_argument("--seconds", type=float, help="--scaling: per process (2; --quick: 0.05)")
    parser.add_argument("--scaling", action="store_true", help="time per step by size")
    parser.add_argument(
        "--json", type=output_file, help="--scaling: also write the rows to this file"
    )
    parser.add_argument(
        "--plot", type=figure_file, help="--scaling: also draw the rows into this PNG"
    )
    parser.add_argument("--plot-from", help="draw --plot from a --json file of an earlier run")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny and fast")
    parser.add_argument("--profile", action="store_true", help="per-layer times instead")
    parser.add_argument(
        "--against", type=checkout, help="also time the cnn-numpy in this source tree"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        lib, job = args.child[0], json.loads(args.child[1])
        print(json.dumps((numpy_child if lib == "numpy" else torch_child)(job)))
        return
    check_modes(parser, args)
    if args.against:
        AGAINST["src"] = str(args.against / "src")
    if args.plot_from:
        try:
            rows = json.loads(Path(args.plot_from).read_text())
        except (OSError, ValueError) as err:
            parser.error(f"--plot-from: cannot read {args.plot_from}: {err}")
        plot(rows, args.plot)
        return
    quick = {"rounds": 1, "seconds": 0.05, "images": 256, "batch": 16}
    full = {"rounds": 5, "seconds": 2.0, "images": 12_800, "batch": 64}
    for name, value in (quick if args.quick else full).items():  # what was not given
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.profile:
        sys.path.insert(0, str(Path(__file__).parent))
        from profile_layers import main as profile

        steps = ["--steps", "8"] if args.quick else ["--torch"]
        profile(["--net", "lenet", "--batch", str(args.batch), *steps])
        return
    print(machine(args.quick), flush=True)
    scaling(args) if args.scaling else workloads(args)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nload average at the end: {load}")


if __name__ == "__main__":
    main()
