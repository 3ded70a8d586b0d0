"""``cnn-numpy gradcheck``: prove every backward() of a preset net right, layer by layer.

Each layer is checked on its own, in float64, with ``check_layer_gradients``: the gradient
``backward()`` returns for its input, and the one it accumulates for each parameter, against
central differences.  Then the whole chain (loss of the model with respect to the image) and
the loss itself.  Prints a table; exits 1 naming the first layer that fails.
"""

from __future__ import annotations

import argparse
import copy
import time
from contextlib import contextmanager

import numpy as np

from ...gradcheck import (
    check_layer_gradients,
    check_loss_gradients,
    numerical_gradient,
    relative_error,
)
from ...losses import CrossEntropyLoss
from ...presets import MODELS
from .common import UsageError, float_in, int_in, seed

#: image sizes tried in order when --image-size is not given: small keeps the check fast
#: (lenet at 28x28 has a 1568x128 Linear, 200k weights, each needing two forward passes)
SMALL_SIZES = (8, 12, 16, 20, 28)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "gradcheck",
        help="check every layer's gradients numerically (float64)",
        description="Build a preset net in float64 and compare each layer's backward() with "
        "central differences, for its input and every parameter. Prints a table "
        "and exits with status 1, naming the first failing layer, if any check fails.",
    )
    p.add_argument(
        "--model", choices=sorted(MODELS), default="seed", help="network preset (default: seed)"
    )
    p.add_argument(
        "--batch-size",
        type=int_in(1, 64),
        default=2,
        help="images in the test batch, 1-64 (default 2); 2 or more for deep, whose "
        "BatchNorm1d cannot normalise a batch of one image",
    )
    p.add_argument(
        "--image-size",
        type=int_in(1, 64),
        default=None,
        help="height = width of the test images, 1-64: each number of the input and "
        "of every weight costs two forward passes (default: the smallest of "
        f"{', '.join(map(str, SMALL_SIZES))} the preset accepts)",
    )
    p.add_argument(
        "--tol",
        type=float_in(0, 1, low_open=True, high_open=True),
        default=1e-6,
        help="largest relative error that passes, between 0 and 1 (default 1e-6)",
    )
    p.add_argument("--seed", type=seed, default=0, help="seed for weights and test data")
    p.set_defaults(run=run)


def build(name: str, image_size: int | None, rng: np.random.Generator):
    """The preset in float64 and the image size it was built for."""
    sizes = SMALL_SIZES if image_size is None else (image_size,)
    error = None
    for size in sizes:
        try:
            model = MODELS[name](image_size=size, rng=rng, dtype=np.float64)
            model.output_shape((1, 1, size, size))
            return model, size
        except ValueError as err:  # too small for this preset: try the next size
            error = err
    smallest = next((s for s in range(1, 65) if builds(name, s)), None)
    if image_size is not None and smallest is not None and image_size < smallest:
        raise ValueError(  # not the preset's own advice, which may be "fewer blocks"
            f"gradcheck: --image-size {image_size} is too small for the {name} net; the "
            f"smallest size it takes is {smallest} (cnn-numpy gradcheck --model {name} "
            f"--image-size {smallest}, or leave the flag out)"
        )
    raise ValueError(f"gradcheck: cannot build {name!r} for image sizes {sizes}: {error}")


def builds(name: str, size: int) -> bool:
    """Whether the preset takes images of ``size`` x ``size``."""
    try:
        MODELS[name](image_size=size, rng=0).output_shape((1, 1, size, size))
    except ValueError:
        return False
    return True


def random_generators(layer) -> list[np.random.Generator]:
    """The ``np.random.Generator`` attributes of ``layer`` (Dropout's mask source)."""
    return [v for v in vars(layer).values() if isinstance(v, np.random.Generator)]


@contextmanager
def frozen_randomness(layers):
    """Every forward pass of these layers draws the same random numbers (the same Dropout
    mask), so a layer that is random in training mode is a fixed function that central
    differences can check.  Yields the names of the layers it froze."""
    frozen = []
    for layer in layers:
        generators = random_generators(layer)
        if not generators:
            continue
        states = [g.bit_generator.state for g in generators]

        def forward(x, layer=layer, generators=generators, states=states):
            for g, state in zip(generators, states):
                g.bit_generator.state = state  # rewind: draw the same mask again
            return type(layer).forward(layer, x)

        layer.forward = forward  # instance attribute shadows the method
        frozen.append(layer)
    try:
        yield [type(layer).__name__ for layer in frozen]
    finally:
        for layer in frozen:
            del layer.forward


def smaller_step(errors: dict, layer, x, h: float, rng, tol: float) -> dict[str, float]:
    """For the checks that failed at step h, the errors at step h / 10 where they are at
    least 30x smaller.  Central differences are off by about h^2 times the third derivative
    / 6, so where the function curves sharply (a BatchNorm that normalises two values per
    channel) the error falls 100-fold with a 10-fold smaller step, while a wrong backward()
    is as wrong at every step."""
    failed = [name for name, err in errors.items() if not err < tol]
    if not failed:
        return {}
    again = check_layer_gradients(layer, x, h=h / 10, rng=rng)
    return {name: again[name] for name in failed if again[name] * 30 < errors[name]}


def check_model(
    model,
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    h: float = 1e-6,
    tol: float = 1e-6,
) -> list[tuple[str, str, float, str]]:
    """Rows ``(layer, gradient, relative error, note)``: every layer, then the whole chain
    and the loss, all in training mode.  Each layer gets fresh standard-normal input of the
    shape it sees in the net: random floats have no ties (MaxPool) and no exact zeros (ReLU),
    where the derivative jumps and central differences would disagree with any backward()."""
    rows = []
    shape = x.shape
    model.train()
    for i, layer in enumerate(model):
        layer_input = rng.standard_normal(shape)
        upstream = copy.deepcopy(rng)  # the same R again, should the check run twice
        with frozen_randomness([layer]) as frozen:
            errors = check_layer_gradients(layer, layer_input, h=h, rng=rng)
            smaller = smaller_step(errors, layer, layer_input, h, upstream, tol)
        notes = [f"{frozen[0]} mask frozen"] if frozen else []
        for name, err in errors.items():
            why = []
            if name in smaller:  # a sharp curve, not a wrong backward(): see smaller_step
                why = [f"at h={h / 10:g}; {err:.1e} at h={h:g} was the curve"]
                err = smaller[name]
            rows.append((f"{i}: {one_line(layer)}", name, err, ", ".join(notes + why)))
        shape = layer.output_shape(shape)

    # the whole chain: d loss / d image through every backward() in turn
    loss = CrossEntropyLoss()
    with frozen_randomness(list(model)) as frozen:
        loss.forward(model.forward(x), y)
        analytic = model.backward(loss.backward())
        numeric = numerical_gradient(lambda: loss.forward(model.forward(x), y), x, h)
    note = f"{', '.join(frozen)} mask frozen" if frozen else ""
    rows.append(("whole model + loss", "input", relative_error(analytic, numeric), note))
    logits = rng.standard_normal((len(y), model.output_shape(x.shape)[1]))
    rows.append(("CrossEntropyLoss", "logits", check_loss_gradients(loss, logits, y, h=h), ""))
    return rows


def workload(model, x: np.ndarray) -> tuple[int, float]:
    """How many numbers the check nudges (each layer's input and parameters, then the image
    through the whole model), and roughly how many seconds that takes here: two forward
    passes each, with each layer's pass timed on a copy of the model."""

    def seconds(forward, x) -> float:  # the median of five passes: BLAS threads on a busy
        times = []  # machine make single passes vary tenfold
        for _ in range(5):
            start = time.perf_counter()
            forward(x)
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    model, rng = copy.deepcopy(model).train(), np.random.default_rng(0)
    numbers, total, shape = x.size, 2 * x.size * seconds(model.forward, x), x.shape
    for layer in model:
        layer_input = rng.standard_normal(shape)
        count = layer_input.size + sum(p.data.size for p in layer.parameters())
        numbers += count
        total += 2 * count * seconds(layer.forward, layer_input)
        shape = layer.output_shape(shape)
    return numbers, total


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} minutes" if seconds < 90 * 60 else f"{seconds / 3600:.1f} hours"


def one_line(layer) -> str:
    """``repr(layer)``, or its class name where that takes several lines (a Residual)."""
    text = repr(layer)
    return type(layer).__name__ if "\n" in text else text


def format_table(rows, tol: float) -> str:
    width = max(len("layer"), *(len(r[0]) for r in rows))
    named = max(len("gradient"), *(len(r[1]) for r in rows))  # a Residual's shortcut.1.weight
    lines = [
        f"{'layer':<{width}}  {'gradient':<{named}}  {'max rel. error':>14}  result",
        f"{'-' * width}  {'-' * named}  {'-' * 14}  ------",
    ]
    for layer, name, err, note in rows:
        result = "pass" if err < tol else "FAIL"
        lines.append(
            f"{layer:<{width}}  {name:<{named}}  {err:>14.2e}  {result}"
            + (f"  ({note})" if note else "")
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    try:
        model, size = build(args.model, args.image_size, rng)
    except ValueError as err:
        raise UsageError(str(err)) from err
    x = rng.standard_normal((args.batch_size, 1, size, size))
    try:  # a copy, so the check's own passes are unchanged
        copy.deepcopy(model).train().forward(np.zeros_like(x))
    except ValueError as err:  # e.g. BatchNorm1d with a batch of one image
        larger = "; or give a larger --image-size, so BatchNorm2d's maps hold more than one value"
        raise UsageError(
            f"--batch-size {args.batch_size} is too small for the {args.model} net: {err}"
            + (larger if "BatchNorm2d" in str(err) else "")
        ) from err
    num_classes = model.output_shape(x.shape)[1]
    y = rng.integers(0, num_classes, size=args.batch_size)
    print(
        f"Gradient check: {args.model} net in float64, {args.batch_size} random "
        f"{size}x{size} image(s), central differences with h=1e-6, pass if relative error "
        f"< {args.tol:g}"
    )
    numbers, seconds = workload(model, x)
    if seconds > 60:  # a legal --image-size can mean hours of silence: say so first
        print(
            f"note: this check nudges {numbers:,} numbers, two forward passes each: roughly "
            f"{duration(seconds)} on this machine now (Ctrl-C stops it). A smaller "
            "--image-size checks the same code sooner; without it, the smallest size the "
            "preset accepts."
        )
    try:
        rows = check_model(model, x, y, rng, tol=args.tol)
    except ValueError as err:
        raise UsageError(str(err)) from err
    print(format_table(rows, args.tol))
    failed = [r for r in rows if not r[2] < args.tol]
    if failed:
        layer, name, err, _ = failed[0]
        print(
            f"FAILED: first failing layer is {layer} (gradient of {name}: relative error "
            f"{err:.2e}); {len(failed)} of {len(rows)} checks failed"
        )
        return 1
    print(f"OK: all {len(rows)} gradients agree with central differences")
    return 0
