"""The resnet preset measured: its step beside LeNet's, beside PyTorch's on the same net, and
what data augmentation costs per batch.

    python benchmarks/bench_resnet.py                 # everything (a few minutes)
    python benchmarks/bench_resnet.py --rounds 3      # fewer rounds, less precise

One BLAS thread (and ``torch.set_num_threads(1)``).  Times are CPU seconds of this process
(``time.process_time``) per training step at batch 64 (zero_grad -> forward -> loss ->
backward -> SGD step), medians over interleaved rounds: on a machine shared with other work,
CPU time is what a step costs, where wall time is what the neighbours left over.  PyTorch
runs the same net (same weights) in a process of its own.

* resnet / lenet: how much an epoch of the resnet costs in LeNet epochs (the preset's depth
  and width were chosen so that this is about 4).
* cnn-numpy / PyTorch: speed of the resnet's training step, > 1 means we are faster.
* augmentation: the time of ``augment(batch, rng)`` as a fraction of LeNet's training step.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings, which BLAS reads at import)

from cnn_numpy import SGD, CrossEntropyLoss, lenet, resnet  # noqa: E402
from cnn_numpy.layers.base import input_grad  # noqa: E402
from cnn_numpy.transforms import augmentation  # noqa: E402

BATCH = 64
NETS = {"resnet": lambda: resnet(rng=0), "lenet": lambda: lenet(rng=0)}


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

    from cnn_numpy import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Residual
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
    """In its own process: CPU seconds per step of ``lib`` on ``net``, as JSON."""
    step = torch_step(net) if lib == "torch" else numpy_step(net)
    print(json.dumps({"seconds": cpu_seconds(step, repeat)}))


def in_process(lib: str, net: str, repeat: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", lib, net, "--repeat", str(repeat)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])["seconds"]


def augmentation_cost(repeat: int) -> list[tuple[str, float, float]]:
    """(name, ms per batch of 64, fraction of a LeNet training step), by CPU time, interleaved."""
    step = numpy_step("lenet")
    x, _ = batch()
    rng = np.random.default_rng(0)
    rows = []
    for name in ("shift", "crop-flip", "rotate-shift"):
        augment = augmentation(name, 28)
        ratios, costs = [], []
        for _ in range(repeat):
            cost = cpu_seconds(lambda augment=augment: augment(x, rng), 5)
            ratios.append(cost / cpu_seconds(step, 3))
            costs.append(cost)
        rows.append((name, 1000 * float(np.median(costs)), float(np.median(ratios))))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--repeat", type=int, default=5, help="timed steps per round (default 5)")
    p.add_argument("--child", nargs=2, metavar=("LIB", "NET"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(*args.child, args.repeat)
        return 0
    rounds = {key: [] for key in ("numpy resnet", "numpy lenet", "torch resnet")}
    for _ in range(args.rounds):  # interleaved, each library and net in a process of its own
        rounds["numpy resnet"].append(in_process("numpy", "resnet", args.repeat))
        rounds["numpy lenet"].append(in_process("numpy", "lenet", args.repeat))
        rounds["torch resnet"].append(in_process("torch", "resnet", args.repeat))
    ms = {key: 1000 * float(np.median(v)) for key, v in rounds.items()}
    ratio = np.median(np.divide(rounds["numpy resnet"], rounds["numpy lenet"]))
    speed = np.median(np.divide(rounds["torch resnet"], rounds["numpy resnet"]))
    print(f"CPU ms per training step, batch {BATCH}, 1 thread, median of {args.rounds} rounds:")
    print("| step | ms |\n| --- | ---: |")
    for key, value in ms.items():
        print(f"| {key} | {value:.1f} |")
    print(f"\nresnet step / lenet step (an epoch in LeNet epochs): {ratio:.2f}")
    print(f"resnet training speed, cnn-numpy / PyTorch: {speed:.2f}x (> 1: cnn-numpy faster)")
    print(
        "\n| augmentation | ms per batch of 64 | fraction of a LeNet step |\n| --- | ---: | ---: |"
    )
    for name, cost, fraction in augmentation_cost(args.rounds):
        print(f"| {name} | {cost:.2f} | {100 * fraction:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
