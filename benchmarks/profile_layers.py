"""Where does the time go?  Forward and backward time of every layer of a preset net.

    python benchmarks/profile_layers.py                       # LeNet, batch 64, 1 thread
    python benchmarks/profile_layers.py --net seed --batch 256 --threads 2
    python benchmarks/profile_layers.py --torch     # and PyTorch's torch.profiler beside it
    python benchmarks/profile_layers.py --net resnet --torch --clock cpu   # inside the blocks

Each layer's ``forward`` and ``backward`` is timed (wall clock by default) over many
training steps (zero_grad -> forward -> loss -> backward -> SGD step, as ``fit`` does);
the loss and the optimizer step get a line of their own.  Layers inside a ``Residual`` get a
line each (``3.block.0``), and the ``Residual`` itself a line for its own work (the sum, and
the two input gradients added): its time less its branches'.  The table shows the median
per step and the share of the whole step.  As in ``fit``, the first layer computes no input
gradient.  On a busy machine ``--clock cpu`` (this process's CPU time, ``time.process_time``)
is steadier than wall time; use it with one thread only.  ``--torch`` then profiles the same
net in PyTorch (same weights, same batch, same number of steps, its own thread limit) with
``torch.profiler`` and prints its operators' self CPU time, grouped as forward, backward and
optimizer, beside ours.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from cnn_numpy import (
    SGD,
    CrossEntropyLoss,
    Residual,
    Sequential,
    keep_freed_memory,
    lenet,
    resnet,
    seed_net,
)
from cnn_numpy.tools.cli.common import int_in

NETS = {
    "seed": lambda: seed_net(num_classes=10, rng=0),
    "lenet": lambda: lenet(rng=0),
    "resnet": lambda: resnet(rng=0),
}


def leaves(layer, prefix: str = ""):
    """(name, layer) of every layer to time: the layers of a Sequential, those inside a
    Residual's branches, and each Residual itself (for its own part)."""
    if isinstance(layer, Sequential):
        for i, sub in enumerate(layer):
            yield from leaves(sub, f"{prefix}{i}")
    elif isinstance(layer, Residual):
        yield prefix, layer
        for branch, sub in layer.branches():
            yield from leaves(sub, f"{prefix}.{branch}.")
    else:
        yield prefix, layer


def short(layer) -> str:
    """``Conv2d(16, 32, 3, s2)``: a layer's name and the arguments that tell it apart.  Never
    a cut repr: ``Linear(in_features=1568, out_features=12`` read as 12 outputs, not 128."""
    if isinstance(layer, Residual):
        return "Residual: the sum"
    kind = type(layer).__name__
    if kind in ("Conv2d", "MaxPool2d", "AvgPool2d"):
        stride = (
            layer.stride[0] != layer.kernel_size[0] if kind != "Conv2d" else layer.stride[0] > 1
        )
        size = layer.kernel_size[0]
        channels = f"{layer.in_channels}, {layer.out_channels}, " if kind == "Conv2d" else ""
        return f"{kind}({channels}{size}" + (f", s{layer.stride[0]})" if stride else ")")
    if kind == "Linear":
        return f"{kind}({layer.in_features}, {layer.out_features})"
    if kind.startswith("BatchNorm"):
        return f"{kind}({layer.num_features})"
    return repr(layer)


def timed(name: str, method, times: dict, inner: list, clock):
    """``method`` wrapped to add its *own* time (less that of timed calls inside it) to
    ``times[name]``; ``inner`` is the stack of the time spent in calls inside each."""

    def call(*args):
        inner.append(0.0)
        t = clock()
        result = method(*args)
        spent = clock() - t
        own = spent - inner.pop()
        times[name][-1] += own
        if inner:
            inner[-1] += spent
        return result

    return call


def time_layers(
    model, batch: np.ndarray, labels: np.ndarray, steps: int, clock=time.perf_counter
) -> dict[str, list]:
    """Run ``steps`` training steps; return {row name: [seconds per step, ...]}."""
    loss, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.01, momentum=0.9)
    model[0].needs_input_grad = False  # as fit does: nobody needs d(loss)/d(images)
    times: dict[str, list] = defaultdict(list)
    inner: list = []
    rows = []
    for name, layer in leaves(model):
        label = f"{name} {short(layer)}"
        for method in ("forward", "backward"):
            row = f"{label} {method}"
            rows.append(row)
            setattr(layer, method, timed(row, getattr(layer, method), times, inner, clock))
    for _ in range(steps):
        for row in rows:
            times[row].append(0.0)
        opt.zero_grad()
        x = model.forward(batch)
        t = clock()
        loss.forward(x, labels)
        g = loss.backward()
        times["loss forward+backward"].append(clock() - t)
        model.backward(g)
        t = clock()
        opt.step()
        times["SGD step"].append(clock() - t)
    for _, layer in leaves(model):  # the layers as they were
        vars(layer).pop("forward"), vars(layer).pop("backward")
    return times


def print_profile(times: dict[str, list], title: str) -> None:
    # the first quarter of the steps is warm-up
    medians = {name: float(np.median(v[len(v) // 4 :])) for name, v in times.items()}
    total = sum(medians.values())
    print(f"\n{title}: {total * 1e3:.2f} ms per step")
    print(f"  {'layer / pass':<66} {'ms':>7} {'share':>6}")
    for name, s in medians.items():
        print(f"  {name[:66]:<66} {s * 1e3:7.3f} {s / total:6.1%}")


def torch_profile(model, batch: np.ndarray, labels: np.ndarray, steps: int, threads: int) -> None:
    """PyTorch's own profile of the same training step: self CPU time per operator."""
    import torch
    from bench_resnet import torch_twin  # (run as a script: this folder is on sys.path)
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(threads)
    net, x, y = torch_twin(model), torch.from_numpy(batch), torch.from_numpy(labels)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    for _ in range(max(3, steps // 4)):  # warm-up, as ours
        step()
    start = time.process_time()  # CPU time per step, without the profiler's own cost
    for _ in range(steps):
        step()
    cpu_ms = (time.process_time() - start) / steps * 1e3
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    # the profiler's clock is wall time; on a busy machine each operator's *share* of it is
    # still fair (a pause hits an operator in proportion to its length), so the shares are
    # scaled to the CPU time per step, the clock ours uses with --clock cpu
    print(
        f"\nPyTorch {torch.__version__}, torch.profiler: {cpu_ms:.2f} ms of CPU time per step, "
        "shared out as the operators' self time"
    )
    print(f"  {'operator':<58} {'ms':>7} {'share':>6}")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:16]:
        share = e.self_cpu_time_total / total
        print(f"  {e.key:<58} {share * cpu_ms:7.3f} {share:6.1%}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=sorted(NETS), default="lenet")
    parser.add_argument("--batch", type=int_in(1), default=64)
    parser.add_argument("--threads", type=int_in(1), default=1, help="BLAS threads (threadpoolctl)")
    parser.add_argument("--steps", type=int_in(1), default=60)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--torch", action="store_true", help="also PyTorch's torch.profiler")
    args = parser.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    keep_freed_memory()  # as fit does
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    batch = rng.random((args.batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, args.batch)
    with threadpool_limits(limits=args.threads):
        times = time_layers(NETS[args.net](), batch, labels, args.steps, clock)
    print_profile(
        times, f"{args.net}, batch {args.batch}, {args.threads} thread(s), {args.clock} clock"
    )
    if args.torch:
        torch_profile(NETS[args.net](), batch, labels, args.steps, args.threads)


if __name__ == "__main__":
    main()
