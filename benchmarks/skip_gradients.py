"""Why skip connections work, measured: the gradient norm of every conv layer of a deep plain
net and of the same net with skip connections, by the doctor's ``Monitor``.

    python benchmarks/skip_gradients.py                       # prints the table
    python benchmarks/skip_gradients.py --plot docs/images/skip-gradients.png

Both nets have 17 conv layers (3x3, 8 channels, PyTorch's default init, no BatchNorm) on
14x14 crops of the synthetic lines; the residual one groups the 16 after the first into 8
``Residual(Conv -> ReLU -> Conv)`` blocks, each followed by a ReLU, as ResNet v1.  The
``Monitor`` records each parameter's gradient mean and std at the first training step
(``every=1``); the norm is sqrt(size * (std**2 + mean**2)).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import cnn_numpy as cnn
from cnn_numpy import AdaptiveAvgPool2d, Conv2d, Flatten, Linear, ReLU, Residual, Sequential
from cnn_numpy.tools.cli.common import figure_file, int_in

DEPTH, WIDTH = 16, 8


def plain(rng) -> Sequential:
    layers = [Conv2d(1, WIDTH, 3, padding=1, rng=rng), ReLU()]
    for _ in range(DEPTH):
        layers += [Conv2d(WIDTH, WIDTH, 3, padding=1, rng=rng), ReLU()]
    return Sequential(*layers, AdaptiveAvgPool2d(1), Flatten(), Linear(WIDTH, 2, rng=rng))


def residual(rng) -> Sequential:
    layers = [Conv2d(1, WIDTH, 3, padding=1, rng=rng), ReLU()]
    for _ in range(DEPTH // 2):
        block = Sequential(
            Conv2d(WIDTH, WIDTH, 3, padding=1, rng=rng),
            ReLU(),
            Conv2d(WIDTH, WIDTH, 3, padding=1, rng=rng),
        )
        layers += [Residual(block), ReLU()]
    return Sequential(*layers, AdaptiveAvgPool2d(1), Flatten(), Linear(WIDTH, 2, rng=rng))


def conv_gradient_norms(make, seed: int = 0) -> list[float]:
    """The gradient norm of each conv weight, input side first, at the first step."""
    X, y = cnn.synthetic_lines(32, rng=seed)
    model, monitor = make(np.random.default_rng(seed)), cnn.Monitor(every=1)
    cnn.fit(
        model, cnn.CrossEntropyLoss(), cnn.SGD(model.parameters(), lr=0.01),
        (X[:, :, 7:21, 7:21], y), epochs=1, batch_size=64, rng=seed, callbacks=[monitor],
    )  # fmt: skip
    params = monitor.records[0]["params"]
    return [
        float(np.sqrt(np.prod(p["shape"]) * (p["grad_std"] ** 2 + p["grad_mean"] ** 2)))
        for p in params
        if p["name"].endswith("weight") and len(p["shape"]) == 4
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--plot", metavar="PNG", type=figure_file, help="draw the two curves into this file"
    )
    p.add_argument(
        "--seeds", type=int_in(1), default=3, help="nets per kind, median taken (default 3)"
    )
    args = p.parse_args(argv)
    norms = {
        name: np.median([conv_gradient_norms(make, seed) for seed in range(args.seeds)], axis=0)
        for name, make in (("plain", plain), ("residual", residual))
    }
    print("| conv layer | plain | residual |\n| ---: | ---: | ---: |")
    for k, (a, b) in enumerate(zip(norms["plain"], norms["residual"], strict=True), 1):
        print(f"| {k} | {a:.2e} | {b:.2e} |")
    for name, values in norms.items():
        print(f"{name}: first conv / last conv gradient norm = {values[0] / values[-1]:.2g}")
    if args.plot:
        from cnn_numpy.tools.visualize.figures import subplots

        fig, ax = subplots(figsize=(6, 3.6))
        layers = np.arange(1, len(norms["plain"]) + 1)
        ax.semilogy(layers, norms["plain"], "o-", label="plain: 17 convs in a row")
        ax.semilogy(layers, norms["residual"], "s-", label="residual: the same, in 8 skip blocks")
        ax.set_xlabel("conv layer (1 = next to the image)")
        ax.set_ylabel("gradient norm of its weight")
        ax.set_title(f"First training step, median of {args.seeds} nets (Monitor)", fontsize=10)
        ax.legend()
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)  # as the CLI's figures
        fig.savefig(args.plot, dpi=100)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
