"""Where does the time go?  Forward and backward time of every layer of a preset net.

    python benchmarks/profile_layers.py                       # LeNet, batch 64, 1 thread
    python benchmarks/profile_layers.py --net seed --batch 256 --threads 2
    python benchmarks/profile_layers.py --torch     # and PyTorch's torch.profiler beside it

Each layer's ``forward`` and ``backward`` is timed (wall clock by default) over many
training steps (zero_grad -> forward -> loss -> backward -> SGD step, as ``fit`` does);
the loss and the optimizer step get a line of their own.  The table shows the median
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

from cnn_numpy import SGD, CrossEntropyLoss, keep_freed_memory, lenet, seed_net

NETS = {"seed": lambda: seed_net(num_classes=10, rng=0), "lenet": lambda: lenet(rng=0)}


def time_layers(
    model, batch: np.ndarray, labels: np.ndarray, steps: int, clock=time.perf_counter
) -> dict[str, list]:
    """Run ``steps`` training steps; return {row name: [seconds per step, ...]}."""
    loss, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.01, momentum=0.9)
    model[0].needs_input_grad = False  # as fit does: nobody needs d(loss)/d(images)
    times: dict[str, list] = defaultdict(list)
    for _ in range(steps):
        opt.zero_grad()
        x = batch
        for i, layer in enumerate(model):
            t = clock()
            x = layer.forward(x)
            times[f"{i} {layer!r} forward"].append(clock() - t)
        t = clock()
        loss.forward(x, labels)
        g = loss.backward()
        times["loss forward+backward"].append(clock() - t)
        for i in reversed(range(len(model))):
            layer = model[i]
            t = clock()
            g = layer.backward(g)
            times[f"{i} {layer!r} backward"].append(clock() - t)
        t = clock()
        opt.step()
        times["SGD step"].append(clock() - t)
    return times


def print_profile(times: dict[str, list], title: str) -> None:
    # the first quarter of the steps is warm-up
    medians = {name: float(np.median(v[len(v) // 4 :])) for name, v in times.items()}
    total = sum(medians.values())
    print(f"\n{title}: {total * 1e3:.2f} ms per step")
    print(f"  {'layer / pass':<58} {'ms':>7} {'share':>6}")
    for name, s in medians.items():
        print(f"  {name:<58} {s * 1e3:7.3f} {s / total:6.1%}")


def torch_profile(model, batch: np.ndarray, labels: np.ndarray, steps: int, threads: int) -> None:
    """PyTorch's own profile of the same training step: self CPU time per operator."""
    import torch
    from bench_train import torch_twin
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
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (threadpoolctl)")
    parser.add_argument("--steps", type=int, default=60)
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
