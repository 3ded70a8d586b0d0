"""Refuse, before training starts, a model and batch whose arrays would not fit in memory.

The estimate walks the model's output shapes for one batch (``layer.output_shape``), so it
costs nothing and allocates nothing, before any batch or optimizer state exists:

    parameters   weights + gradients + the optimizer's state (SGD momentum: 1 more copy,
                 Adam: 2), + one gradient copy per DataParallel worker
    one batch    every layer's output, its gradient and what backward caches (~3 copies),
                 plus each Conv2d's im2col columns and their gradient (C_in*kh*kw*H_out*W_out
                 per image, 2 copies); the test pass (500 images at a time, no gradients)
                 when that is larger

It is an estimate, on the generous side; the refusal says what it counted.  The model itself
is built before the check (its output shapes come from its layers); the flags' ranges keep
that small: the largest seed net they allow (--filters 512, 3 blocks) has 24M parameters.
"""

from __future__ import annotations

import math
import os

from ...layers import Conv2d, Residual
from ...train import EVAL_BATCH  # predict_proba's batch for the test pass after each epoch
from .common import UsageError


def per_image_elements(model, image_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(activations, im2col columns)``: elements per image over all layers."""
    shape = (1, *image_shape)
    activations = columns = 0
    for layer in model:
        out = layer.output_shape(shape)
        activations += math.prod(out[1:])
        if isinstance(layer, Conv2d):
            kh, kw = layer.kernel_size
            columns += layer.in_channels * kh * kw * math.prod(out[2:])
        if isinstance(layer, Residual):  # and what its branches keep
            for _, branch in layer.branches():
                inner = per_image_elements(getattr(branch, "layers", [branch]), shape[1:])
                activations, columns = activations + inner[0], columns + inner[1]
        shape = out
    return activations, columns


def training_bytes(
    model,
    image_shape: tuple[int, ...],
    batch: int,
    test_images: int,
    optimizer_copies: int,
    workers: int = 1,
) -> tuple[int, int]:
    """``(bytes for the parameters, bytes for one batch)`` of training ``model``."""
    params = model.parameters()
    itemsize = params[0].data.itemsize if params else 4
    count = sum(p.data.size for p in params)
    copies = 2 + optimizer_copies + (workers if workers > 1 else 0)
    activations, columns = per_image_elements(model, image_shape)
    inputs = math.prod(image_shape)
    train = batch * (3 * activations + 2 * columns + inputs)
    test = min(EVAL_BATCH, test_images) * (activations + columns + inputs)
    return itemsize * count * copies, itemsize * max(train, test)


def available_bytes() -> int | None:
    """Memory the system can give now (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def human(nbytes: float) -> str:
    """``1536 -> '1.5 KiB'``."""
    units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    power = 0
    while nbytes >= 1024 and power < len(units) - 1:
        nbytes, power = nbytes / 1024, power + 1
    return f"{nbytes:.0f} bytes" if power == 0 else f"{nbytes:.1f} {units[power]}"


def check_memory(
    model, settings, image_shape: tuple[int, ...], train_images: int, test_images: int
) -> None:
    """A ``UsageError`` naming the memory this run would need, if more than is free."""
    batch = min(settings.batch_size, train_images)
    copies = 2 if settings.optimizer == "adam" else int(settings.momentum > 0)
    params, arrays = training_bytes(
        model, image_shape, batch, test_images, copies, settings.workers or 1
    )
    free = available_bytes()
    if free is None or params + arrays <= free:
        return
    knobs = "--batch-size" + {"seed": ", --filters or --blocks", "resnet": " or --blocks"}.get(
        settings.model, ""
    )
    raise UsageError(
        f"this run needs about {human(params + arrays)} of memory ({human(params)} for the "
        f"{sum(p.data.size for p in model.parameters()):,} parameters with their gradients "
        f"and optimizer state, {human(arrays)} for the arrays of a batch of {batch} images), "
        f"more than the {human(free)} free now; use a smaller {knobs}"
    )
