"""Where does the time go?  Forward and backward time of every layer of a preset net.

    python benchmarks/profile_layers.py                       # LeNet, batch 64, 1 thread
    python benchmarks/profile_layers.py --net seed --batch 256 --threads 2

Each layer's ``forward`` and ``backward`` is timed (wall clock by default) over many
training steps (zero_grad -> forward -> loss -> backward -> SGD step, as ``fit`` does);
the loss and the optimizer step get a line of their own.  The table shows the median
per step and the share of the whole step.  As in ``fit``, the first layer computes no input
gradient.  On a busy machine ``--clock cpu`` (this process's CPU time, ``time.process_time``)
is steadier than wall time; use it with one thread only.
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=sorted(NETS), default="lenet")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (threadpoolctl)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
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


if __name__ == "__main__":
    main()
