"""The resnet preset measured: its step beside LeNet's, beside PyTorch's on the same net, and
what data augmentation costs per batch.

    python benchmarks/bench_resnet.py                 # everything (a few minutes)
    python benchmarks/bench_resnet.py --rounds 3      # fewer rounds, less precise
    python benchmarks/bench_resnet.py --only augment  # only what augmentation costs
    python benchmarks/bench_resnet.py --against /tmp/old   # an older checkout's step beside
    python benchmarks/bench_resnet.py --products      # the step's matrix products, one by one
    python benchmarks/bench_resnet.py --blocks 3      # the resnet of 3 stages (train --blocks 3)

One BLAS thread (and ``torch.set_num_threads(1)``).  Times are CPU seconds of this process
(``time.process_time``) per training step at batch 64 (zero_grad -> forward -> loss ->
backward -> SGD step): each process times ``--repeat`` steps and gives their median, and the
rounds start one fresh process per library and net, in alternating order.  The tables give
the best round (the one least disturbed by other programs) and the spread.  On a machine
shared with other work, CPU time is what a step costs, where wall time is what the neighbours
left over.  PyTorch runs the same net (same weights) in a process of its own.  Headed by the
CPU, NumPy's BLAS, its float32 GEMM peak and the load (``bench_train.machine``).

* resnet / lenet: how much an epoch of the resnet costs in LeNet epochs (the preset's depth
  and width were chosen so that this is about 4).
* cnn-numpy / PyTorch: speed of the resnet's training step, > 1 means we are faster; once
  for cnn-numpy in a plain process (as a script calling ``fit`` runs), once after
  ``keep_freed_memory()`` (as ``cnn-numpy train`` runs; "numpy+keep").
* the floor: the step's matrix products, each timed alone on arrays of its shape: what the
  step would cost if nothing else did (the rest is memory passes).
* augmentation: the time of ``augment(batch, rng)`` as a fraction of LeNet's training step,
  both in the same process: one process as ``cnn-numpy train`` runs (``keep_freed_memory()``),
  one as a plain Python script calling ``fit`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings, which BLAS reads at import)

from cnn_numpy import SGD, CrossEntropyLoss, lenet, resnet  # noqa: E402
from cnn_numpy.layers.base import input_grad  # noqa: E402
from cnn_numpy.transforms import augmentation  # noqa: E402

BATCH = 64
AGAINST: Path | None = None  # --against: an older checkout timed beside this one
STAGES = 2  # --blocks: basic blocks of the resnet, one per stage (the preset's default: 2)
NETS = {"resnet": lambda: resnet(blocks=(1,) * STAGES, rng=0), "lenet": lambda: lenet(rng=0)}


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    return x, rng.integers(0, 10, BATCH)


def numpy_step(net: str):
    model, loss = NETS[net](), CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = batch()

    def step():
        optimizer.zero_grad()
        loss(model(x), y)
        with input_grad(model, False):  # as fit: nobody needs dL/d(images)
            model.backward(loss.backward())
        optimizer.step()

    return step


def torch_twin(layer):
    """The same net in torch, float32, our weights copied in (strict state_dict load)."""
    import torch
    from torch import nn

    from cnn_numpy import (
        AdaptiveAvgPool2d,
        AvgPool2d,
        BatchNorm2d,
        Conv2d,
        Flatten,
        Linear,
        MaxPool2d,
        ReLU,
        Residual,
    )
    from cnn_numpy import Sequential as Ours

    class Res(nn.Module):
        def __init__(self, block, shortcut):
            super().__init__()
            self.block, self.shortcut = block, shortcut or nn.Identity()

        def forward(self, x):
            return self.block(x) + self.shortcut(x)

    def build(layer):
        if isinstance(layer, Ours):
            return nn.Sequential(*map(build, layer))
        if isinstance(layer, Residual):
            return Res(build(layer.block), layer.shortcut and build(layer.shortcut))
        if isinstance(layer, Conv2d):
            return nn.Conv2d(
                layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                layer.padding, bias=layer.bias is not None,
            )  # fmt: skip
        if isinstance(layer, BatchNorm2d):
            return nn.BatchNorm2d(layer.num_features)
        if isinstance(layer, Linear):
            return nn.Linear(layer.in_features, layer.out_features)
        if isinstance(layer, AdaptiveAvgPool2d):
            return nn.AdaptiveAvgPool2d(layer.output_size)
        if isinstance(layer, MaxPool2d):
            return nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding)
        if isinstance(layer, AvgPool2d):
            return nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding)
        return {ReLU: nn.ReLU, Flatten: nn.Flatten}[type(layer)]()

    twin = build(layer)
    twin.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in layer.state_dict().items()}
    )
    return twin


def torch_step(net: str):
    import torch

    torch.set_num_threads(1)
    model = torch_twin(NETS[net]())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = torch.nn.CrossEntropyLoss()
    x, y = (torch.from_numpy(a) for a in batch())

    def step():
        optimizer.zero_grad()
        loss(model(x), y).backward()
        optimizer.step()

    return step


def cpu_seconds(work, repeat: int) -> float:
    """CPU seconds of one call of ``work``, the median of ``repeat`` timed calls."""
    work()  # warm-up: first-touch memory, caches
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return float(np.median(times))


def child(lib: str, net: str, repeat: int) -> None:
    """In its own process: CPU seconds per step of ``lib`` on ``net``, as JSON.  ``lib``
    "numpy+keep": cnn-numpy after ``keep_freed_memory()``, as ``cnn-numpy train`` runs."""
    if lib == "numpy+keep":
        from cnn_numpy import keep_freed_memory

        keep_freed_memory()
    step = torch_step(net) if lib == "torch" else numpy_step(net)
    print(json.dumps({"seconds": cpu_seconds(step, repeat)}))


def in_process(lib: str, net: str, repeat: int) -> float:
    """``lib`` "older": cnn-numpy from the checkout given with --against (its src first on
    PYTHONPATH), timed by this script."""
    env = dict(os.environ)
    if lib == "older":
        env["PYTHONPATH"] = os.pathsep.join([str(AGAINST / "src"), env.get("PYTHONPATH", "")])
        lib = "numpy"
    out = subprocess.run(
        [sys.executable, __file__, "--child", lib, net, "--repeat", str(repeat),
         "--blocks", str(STAGES)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])["seconds"]


def augmentation_cost(rounds: int, keep: bool) -> list[tuple[str, list[float], list[float]]]:
    """(name, ms per batch of 64 in each round, fraction of a LeNet step in each round), by
    CPU time; each round times the augmentation and then LeNet's step right after it.
    ``keep``: after ``keep_freed_memory()``, as ``cnn-numpy train`` runs (no page faults
    for memory freed and taken again); else as a plain Python process runs ``fit``."""
    if keep:
        from cnn_numpy import keep_freed_memory

        keep_freed_memory()
    step = numpy_step("lenet")
    x, _ = batch()
    rng = np.random.default_rng(0)
    rows = []
    for name in ("shift", "crop-flip", "rotate-shift"):
        augment = augmentation(name, 28)
        ratios, costs = [], []
        for _ in range(rounds):
            cost = cpu_seconds(lambda augment=augment: augment(x, rng), 9)
            ratios.append(cost / cpu_seconds(step, 5))
            costs.append(1000 * cost)
        rows.append((name, costs, ratios))
    return rows


def augmentation_table(rounds: int) -> None:
    print(
        f"\n| augmentation | process | ms per batch of 64, best (spread) | fraction of a "
        f"LeNet step at batch 64, best (spread over {rounds} rounds) |\n| --- | --- | ---: | ---: |"
    )
    for keep, process in ((True, "as cnn-numpy train"), (False, "plain Python fit")):
        out = subprocess.run(
            [sys.executable, __file__, "--child-augment", str(int(keep)), "--rounds", str(rounds)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        for name, costs, fractions in json.loads(out.stdout.splitlines()[-1]):
            print(
                f"| {name} | {process} | {min(costs):.2f} ({spread(costs)}) | "
                f"{100 * min(fractions):.1f}% ({100 * min(fractions):.1f}-"
                f"{100 * max(fractions):.1f}%) |"
            )


def products(model, shape=(BATCH, 1, 28, 28)) -> list[tuple[str, int, int, int]]:
    """The matrix products of a training step, as cnn-numpy computes them: per Conv2d (and
    Linear) with F outputs, K = C*kh*kw inputs and P = N*Ho*Wo output pixels, the forward
    ``w @ cols`` (F x K times K x P), the weight gradient ``cols @ g.T`` (K x P times P x F)
    and, but for the first layer (as in fit), the column gradient ``w.T @ g`` (K x F times
    F x P).  Each as (what, rows, inner, columns)."""
    from cnn_numpy import Conv2d, Linear, Residual, Sequential

    found = []

    short = sibling("profile_layers").short  # Conv2d(16, 32, 3, s2), as it profiles them

    def walk(layer, shape):
        if isinstance(layer, Sequential):
            for sub in layer:
                shape = walk(sub, shape)
            return shape
        if isinstance(layer, Residual):
            out = walk(layer.block, shape)
            if layer.shortcut is not None:
                walk(layer.shortcut, shape)
            return out
        out = layer.output_shape(shape)
        if isinstance(layer, (Conv2d, Linear)):
            F, K = layer.weight.shape[0], int(np.prod(layer.weight.shape[1:]))
            P = int(np.prod(out)) // F
            found.extend([(f"{short(layer)} forward", F, K, P), ("  weight grad", K, P, F)])
            if len(found) > 2:  # not the first layer
                found.append(("  column grad", K, F, P))
        return out

    walk(model, shape)
    return found


def gemm_floor(repeat: int = 7, show: bool = False) -> tuple[float, float]:
    """(MFLOP, CPU ms) of the resnet step's products, each timed alone with np.matmul on
    float32 arrays of its shape (best of ``repeat``): the step's time if nothing but the
    products cost anything.  ``show``: print a table of them."""
    rng = np.random.default_rng(0)
    if show:
        print("\n| product (rows x inner x columns) | ms | GFLOP/s |\n| --- | ---: | ---: |")
    mflop = ms = 0.0
    for what, m, k, n in products(NETS["resnet"]()):
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        if "weight grad" in what:  # cols @ g.T: g.T is a transposed view
            b = rng.random((n, k), dtype=np.float32).T
        if "column grad" in what:  # w.T @ g: w.T is a transposed view
            a = rng.random((k, m), dtype=np.float32).T
        spent = 1000 * min(cpu_seconds(lambda a=a, b=b: a @ b, 1) for _ in range(repeat))
        ms, mflop = ms + spent, mflop + 2 * m * k * n / 1e6
        if show:
            print(f"| {what} ({m} x {k} x {n}) | {spent:.2f} | {2 * m * k * n / spent / 1e6:.0f} |")
    return mflop, ms


def spread(values) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def sibling(name: str):
    """The benchmark script ``name``.py beside this one, as a module (whichever way this one
    was loaded: as a script, or by a test from its path)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    # bench_train's flag types: this file also runs as the child of an --against checkout,
    # whose cnn_numpy may have no tools.cli to import them from
    positive = sibling("bench_train").positive
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=positive, default=5, help="alternating rounds (default 5)")
    p.add_argument("--repeat", type=positive, default=5, help="timed steps per process (default 5)")
    p.add_argument(
        "--only", choices=["speed", "augment"], help="only the step times, or only augmentation"
    )
    p.add_argument("--products", action="store_true", help="only the step's products, timed")
    p.add_argument(
        "--against",
        type=sibling("bench_train").checkout,
        help="also time the cnn-numpy in this checkout",
    )
    p.add_argument(
        "--blocks", type=positive, default=2, help="the resnet's basic blocks, one per stage (2)"
    )
    p.add_argument("--child", nargs=2, metavar=("LIB", "NET"), help=argparse.SUPPRESS)
    p.add_argument("--child-augment", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.against and (args.only == "augment" or args.products):
        p.error("--against times the resnet step: not with --only augment or --products")
    global AGAINST, STAGES
    AGAINST, STAGES = args.against, args.blocks
    if args.child:
        child(*args.child, args.repeat)
        return 0
    if args.child_augment is not None:
        print(json.dumps(augmentation_cost(args.rounds, bool(args.child_augment))))
        return 0
    print(sibling("bench_train").machine(quick=args.rounds < 3))
    if args.products:
        gemm_floor(show=True)
        return 0
    if args.only != "augment":
        speed_table(args.rounds, args.repeat)
    if args.only != "speed":
        augmentation_table(args.rounds)
    return 0


def speed_table(rounds_count: int, repeat: int) -> None:
    keys = [("numpy", "resnet"), ("numpy", "lenet"), ("torch", "resnet"), ("numpy+keep", "resnet")]
    keys += [("older", "resnet")] if AGAINST else []
    rounds = {key: [] for key in keys}
    for r in range(rounds_count):  # each library and net in a process of its own,
        for key in keys if r % 2 == 0 else keys[::-1]:  # in alternating order
            rounds[key].append(1000 * in_process(*key, repeat))
    ours, lenet_ms, theirs, kept = (np.array(rounds[key]) for key in keys[:4])
    print(
        f"\nCPU ms per training step (the resnet of {STAGES} basic blocks), batch {BATCH}, "
        f"1 thread, {rounds_count} alternating "
        f"rounds (each the median of {repeat} steps in a fresh process):"
    )
    print("| step | best ms | spread (best-worst) |\n| --- | ---: | ---: |")
    for (lib, net), values in rounds.items():
        print(f"| {lib} {net} | {min(values):.1f} | {spread(values)} |")
    print(
        f"\nresnet step / lenet step (an epoch in LeNet epochs): {ours.min() / lenet_ms.min():.2f}"
        f" (per round {spread(ours / lenet_ms)})"
    )
    print(
        f"resnet training speed, cnn-numpy / PyTorch: {theirs.min() / ours.min():.2f}x, the "
        f"ratio of the bests (per round {spread(theirs / ours)}; > 1: cnn-numpy faster)"
    )
    print(
        f"the same, cnn-numpy after keep_freed_memory() (as cnn-numpy train runs): "
        f"{theirs.min() / kept.min():.2f}x (per round {spread(theirs / kept)})"
    )
    if AGAINST:
        older = np.array(rounds[("older", "resnet")])
        print(
            f"this cnn-numpy / the one in {AGAINST}: {older.min() / ours.min():.2f}x faster "
            f"(per round {spread(older / ours)})"
        )
    mflop, floor_ms = gemm_floor()
    print(
        f"matrix products of a resnet step: {mflop:.0f} MFLOP, {floor_ms:.1f} ms of CPU time "
        f"when each is timed alone ({mflop / floor_ms:.0f} GFLOP/s for these shapes), "
        f"{100 * floor_ms / ours.min():.0f}% of the best cnn-numpy step; the rest of the step, "
        f"{ours.min() - floor_ms:.1f} ms, is memory passes (im2col, col2im, BatchNorm, ReLU, "
        "copies)"
    )


if __name__ == "__main__":
    sys.exit(main())
