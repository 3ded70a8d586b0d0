"""Ready-made networks, by name, for the CLI and the benchmarks."""

from __future__ import annotations

import numpy as np

from .checks import whole
from .layers import (
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Residual,
)
from .layers.base import as_rng
from .layers.conv import conv_output_size
from .model import Sequential


def counts(preset: str, num_classes, in_channels) -> tuple[int, int]:
    """num_classes and in_channels checked here, so that a bad one is named as the preset's
    argument, not as the Linear's out_features or the Conv2d's in_channels it becomes."""
    return (
        whole(num_classes, "num_classes", preset, low=1),
        whole(in_channels, "in_channels", preset, low=1),
    )


def seed_net(
    num_classes: int = 2,
    filters: int = 8,
    blocks: int = 1,
    image_size: int = 28,
    in_channels: int = 1,
    rng=None,
    dtype=np.float32,
) -> Sequential:
    """The seed's net: ``blocks`` x (Conv2d(3x3) -> ReLU -> MaxPool2d(2)) -> Flatten -> Linear.

    With the defaults: Conv2d(1, 8, 3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(8*13*13, 2).
    Each extra block doubles the filters.
    """
    num_classes, in_channels = counts("seed_net", num_classes, in_channels)
    filters = whole(filters, "filters", "seed_net", low=1)
    blocks = whole(blocks, "blocks", "seed_net", low=1)
    image_size = whole(image_size, "image_size", "seed_net", low=1)
    rng = as_rng(rng)
    layers, channels, size = [], in_channels, image_size
    for b in range(blocks):
        out = filters * 2**b
        size = conv_output_size(size, 3, 1, 0) // 2
        if size < 1:
            fits = [k for k in range(1, blocks) if seed_net_min_size(k) <= image_size]
            fix = f"use {max(fits)} block{'s' * (max(fits) != 1)} at most" if fits else ""
            need = f"images of at least {seed_net_min_size(blocks)}x{seed_net_min_size(blocks)}"
            raise ValueError(
                f"seed_net: {blocks} block{'s' * (blocks != 1)} shrink{'s' * (blocks == 1)} a {image_size}x"
                f"{image_size} image to nothing (after block {b + 1}); "
                + (f"{fix}, or give {need}" if fix else f"it takes {need}")
            )
        layers += [Conv2d(channels, out, 3, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2)]
        channels = out
    layers += [Flatten(), Linear(channels * size * size, num_classes, rng=rng, dtype=dtype)]
    return Sequential(*layers)


def seed_net_min_size(blocks: int) -> int:
    """The smallest image side ``blocks`` blocks of 3x3 conv + 2x2 pool leave a pixel of."""
    size = 1
    for _ in range(blocks):
        size = 2 * size + 2  # a conv takes 2 pixels, the pool halves
    return size


def lenet(
    num_classes: int = 10, in_channels: int = 1, image_size: int = 28, rng=None, dtype=np.float32
) -> Sequential:
    """Conv2d(1,16,3,padding=1)-ReLU-MaxPool2d(2)-Conv2d(16,32,3,padding=1)-ReLU-MaxPool2d(2)
    -Flatten-Linear(1568,128)-ReLU-Linear(128,10)  (for 28x28 inputs)."""
    num_classes, in_channels = counts("lenet", num_classes, in_channels)
    image_size = whole(image_size, "image_size", "lenet", low=4)
    rng = as_rng(rng)
    size = image_size // 2 // 2
    return Sequential(
        Conv2d(in_channels, 16, 3, padding=1, rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Conv2d(16, 32, 3, padding=1, rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(32 * size * size, 128, rng=rng, dtype=dtype),
        ReLU(),
        Linear(128, num_classes, rng=rng, dtype=dtype),
    )


def deep(
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 28,
    width: int = 12,
    rng=None,
    dtype=np.float32,
) -> Sequential:
    """Two VGG-style blocks, then a small classifier (for 28x28 inputs, width 12):

        [Conv2d(3x3, padding=1) -> BatchNorm2d -> ReLU] x 2 -> MaxPool2d(2)    12 x 14 x 14
        [Conv2d(3x3, padding=1) -> BatchNorm2d -> ReLU] x 2 -> MaxPool2d(2)    24 x 7 x 7
        Flatten -> Linear(1176, 128) -> BatchNorm1d -> ReLU -> Dropout(0.5) -> Linear(128, 10)

    The convs before a BatchNorm have no bias: BatchNorm's shift would cancel it.  The
    width (channels of the first block; the second has twice as many) is kept small so an
    epoch of MNIST takes minutes on two CPU cores: the 28x28 convs cost width**2.
    """
    num_classes, in_channels = counts("deep", num_classes, in_channels)
    width = whole(width, "width", "deep", low=1)
    image_size = whole(image_size, "image_size", "deep", low=1)
    rng = as_rng(rng)
    if image_size // 4 < 1:
        raise ValueError(f"deep: two 2x2 poolings need images of at least 4x4, got {image_size}")

    def conv_bn_relu(c_in, c_out):
        return [
            Conv2d(c_in, c_out, 3, padding=1, bias=False, rng=rng, dtype=dtype),
            BatchNorm2d(c_out, dtype=dtype),
            ReLU(),
        ]

    size = image_size // 2 // 2
    return Sequential(
        *conv_bn_relu(in_channels, width),
        *conv_bn_relu(width, width),
        MaxPool2d(2),
        *conv_bn_relu(width, 2 * width),
        *conv_bn_relu(2 * width, 2 * width),
        MaxPool2d(2),
        Flatten(),
        Linear(2 * width * size * size, 128, bias=False, rng=rng, dtype=dtype),
        BatchNorm1d(128, dtype=dtype),
        ReLU(),
        Dropout(0.5, rng=rng),
        Linear(128, num_classes, rng=rng, dtype=dtype),
    )


def basic_block(c_in: int, c_out: int, stride: int, rng, dtype) -> list:
    """ResNet's basic block, then its ReLU: x -> relu(block(x) + shortcut(x)) with

    block:    Conv2d(3x3, stride) -> BatchNorm2d -> ReLU -> Conv2d(3x3) -> BatchNorm2d
    shortcut: the identity, or Conv2d(1x1, stride) -> BatchNorm2d where the shape changes
    """

    def conv(a, b, k, s):
        return Conv2d(a, b, k, stride=s, padding=k // 2, bias=False, rng=rng, dtype=dtype)

    block = Sequential(
        conv(c_in, c_out, 3, stride),
        BatchNorm2d(c_out, dtype=dtype),
        ReLU(),
        conv(c_out, c_out, 3, 1),
        BatchNorm2d(c_out, dtype=dtype),
    )
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = Sequential(conv(c_in, c_out, 1, stride), BatchNorm2d(c_out, dtype=dtype))
    return [Residual(block, shortcut), ReLU()]


def resnet(
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 28,
    width: int = 16,
    blocks: tuple[int, ...] = (1, 1),
    rng=None,
    dtype=np.float32,
) -> Sequential:
    """A small ResNet for 28x28 (and 32x32) images; with the defaults, for 28x28:

        stem:    Conv2d(3x3) -> BatchNorm2d -> ReLU                          16 x 28 x 28
        stage 1: basic block, stride 2 (1x1-conv shortcut)                   32 x 14 x 14
        stage 2: basic block, stride 2 (1x1-conv shortcut)                   64 x 7 x 7
        AdaptiveAvgPool2d(1) -> Flatten -> Linear(64, num_classes)

    Stage i holds ``blocks[i]`` basic blocks with ``width * 2**(i+1)`` channels; its first
    block halves the size (stride 2) and doubles the channels, the others keep both (identity
    shortcuts).  No block runs at the full 28x28: there a 16-channel block costs more than
    the rest of the net (measured: benchmarks/bench_resnet.py), and an epoch of
    Fashion-MNIST must stay within a few LeNet epochs on two CPU cores.  The global average
    pooling lets the net take any image size >= 2**len(blocks).
    """
    num_classes, in_channels = counts("resnet", num_classes, in_channels)
    width = whole(width, "width", "resnet", low=1)
    image_size = whole(image_size, "image_size", "resnet", low=1)
    if not isinstance(blocks, (tuple, list)) or not blocks:
        hint = f" (for {blocks} stages of one block: blocks=(1,) * {blocks}, as --blocks {blocks})"
        raise ValueError(
            f"resnet: blocks must be a list of counts, one per stage, got {blocks!r}"
            + (
                hint
                if isinstance(blocks, int) and not isinstance(blocks, bool) and blocks > 0
                else ""
            )
        )
    blocks = [whole(n, "each count in blocks", "resnet", low=1) for n in blocks]
    if image_size < 2 ** len(blocks):
        raise ValueError(
            f"resnet: {len(blocks)} stages halve a {image_size}x{image_size} image "
            f"{len(blocks)} times; use images of at least {2 ** len(blocks)} pixels, or fewer "
            "stages (cnn-numpy train: a smaller --blocks)"
        )
    rng = as_rng(rng)
    layers = [
        Conv2d(in_channels, width, 3, padding=1, bias=False, rng=rng, dtype=dtype),
        BatchNorm2d(width, dtype=dtype),
        ReLU(),
    ]
    channels = width
    for stage, count in enumerate(blocks):
        out = width * 2 ** (stage + 1)
        for i in range(count):
            layers += basic_block(channels, out, 2 if i == 0 else 1, rng, dtype)
            channels = out
    layers += [AdaptiveAvgPool2d(1), Flatten(), Linear(channels, num_classes, rng=rng, dtype=dtype)]
    return Sequential(*layers)


MODELS = {"seed": seed_net, "lenet": lenet, "deep": deep, "resnet": resnet}
