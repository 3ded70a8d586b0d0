"""The ``gradients`` check: every layer's backward() against central differences.

Each of your layers (your own classes included) is checked on its own with the library's
``check_layer_gradients``, on a float64 copy and a tiny batch of random inputs of the shape
it sees in the network, in training mode.  Random standard-normal inputs have no ties
(MaxPool) and no exact zeros (ReLU), where the derivative jumps and central differences would
disagree with any backward().  To stay fast:

* a layer that takes images is checked on small ones (``GRAD_SIZES``): the same code runs;
* a parameter with more than ``GRAD_MAX_ENTRIES`` entries is checked on an evenly spread
  sample of them (CS231n's ``grad_check_sparse``): a strided view of the weights, so that
  perturbing the sample perturbs the layer.

Dropout-like layers draw the same mask on every forward pass (their generators are rewound,
as ``cnn-numpy gradcheck`` does), so that they are a fixed function central differences can
check.  The loss's own backward() is checked too.
"""

from __future__ import annotations

import math

import numpy as np

from ...gradcheck import check_layer_gradients, check_loss_gradients
from ...layers.base import Layer, Parameter
from . import thresholds as T
from .activations import layer_label, model_layers
from .copies import float64_copy
from .findings import Finding


class SampledParameter:
    """Every ``step``-th entry of a Parameter, as views: writing into ``data`` writes into
    the layer's weights, and ``grad`` reads what backward() accumulated there."""

    def __init__(self, param: Parameter, step: int):
        self.param, self.step = param, step

    @property
    def data(self) -> np.ndarray:
        return self.param.data.reshape(-1)[:: self.step]  # (ceil(size / step),), a view

    @property
    def grad(self) -> np.ndarray:
        return self.param.grad.reshape(-1)[:: self.step]


def sample_step(shape: tuple[int, ...], max_entries: int) -> int:
    """A stride giving at most ``max_entries`` entries, chosen coprime with the size of a row
    (all axes but the first), so the sample visits every column and every kernel position
    rather than the same few."""
    size, row = math.prod(shape), math.prod(shape[1:])
    step = max(1, math.ceil(size / max_entries))
    while step > 1 and math.gcd(step, row) != 1:
        step += 1
    return step


class CheckedLayer:
    """What ``check_layer_gradients`` sees of one layer: its own forward and backward, with
    its random generators rewound before every forward (the same Dropout mask each time) and
    its large parameters sampled."""

    def __init__(self, layer: Layer, max_entries: int = T.GRAD_MAX_ENTRIES):
        self.layer = layer
        self.generators = [v for v in vars(layer).values() if isinstance(v, np.random.Generator)]
        self.states = [g.bit_generator.state for g in self.generators]
        self.params = {}
        for name, p in layer.named_parameters():
            step = sample_step(p.data.shape, max_entries)
            sampled = SampledParameter(p, step)
            use_sample = step > 1 and np.shares_memory(sampled.data, p.data)
            self.params[name] = sampled if use_sample else p

    def named_parameters(self):
        return iter(self.params.items())

    def forward(self, x: np.ndarray) -> np.ndarray:
        for generator, state in zip(self.generators, self.states):
            generator.bit_generator.state = state
        return self.layer.forward(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self.layer.backward(grad_out)

    def zero_grad(self) -> None:
        self.layer.zero_grad()

    def __repr__(self) -> str:
        return repr(self.layer)


def small_input_shape(layer: Layer, shape: tuple[int, ...], rng) -> tuple[int, ...]:
    """For an image input (N, C, H, W): the smallest (N, C, s, s) with s in ``GRAD_SIZES``
    (and s <= H, W) that the layer accepts; any other input keeps its shape."""
    if len(shape) != 4:
        return shape
    for size in T.GRAD_SIZES:
        if size > min(shape[2:]):
            break
        trial = (*shape[:2], size, size)
        try:
            out = layer.forward(rng.standard_normal(trial))
        except Exception:  # too small for this layer (a kernel larger than the image...)
            continue
        if np.size(out) > 0 and np.all(np.isfinite(out)):
            return trial
    return shape


def check_gradients(
    model, loss, input_shapes: list[tuple[int, ...]], num_classes: int, rng: np.random.Generator
) -> Finding:
    """Check each layer of ``model`` (not changed: each is copied) and ``loss``; fails naming
    the first layer whose relative error reaches ``GRAD_FAIL``.  ``input_shapes[i]`` is the
    shape of one sample at the input of layer i, e.g. (1, 28, 28) for the first."""
    rows = []
    for i, original in enumerate(model_layers(model)):
        layer = float64_copy(original).train()
        layer.needs_input_grad = True
        label = layer_label(i, original)
        small = small_input_shape(layer, (T.GRAD_BATCH, *input_shapes[i]), rng)
        checked = CheckedLayer(layer)
        try:
            errors = check_layer_gradients(checked, rng.standard_normal(small), rng=rng)
        except Exception as err:  # a backward() that raises is a finding, not a crash
            rows.append(
                {
                    "layer": label,
                    "gradient": "backward",
                    "error": math.inf,
                    "note": f"{type(err).__name__}: {err}",
                }
            )
        else:
            for name, err in errors.items():
                p = checked.params.get(name)
                note = (
                    f"{p.data.size} of {p.param.data.size:,} entries"
                    if isinstance(p, SampledParameter)
                    else ""
                )
                rows.append({"layer": label, "gradient": name, "error": err, "note": note})
    logits = rng.standard_normal((T.GRAD_BATCH, num_classes))
    targets = rng.integers(0, num_classes, T.GRAD_BATCH)
    try:
        rows.append(
            {
                "layer": type(loss).__name__,
                "gradient": "logits",
                "note": "",
                "error": check_loss_gradients(loss, logits, targets),
            }
        )
    except Exception as err:
        rows.append(
            {
                "layer": type(loss).__name__,
                "gradient": "backward",
                "error": math.inf,
                "note": f"{type(err).__name__}: {err}",
            }
        )
    return gradient_finding(rows)


def gradient_finding(rows: list[dict]) -> Finding:
    data = {"rows": rows, "ok_below": T.GRAD_OK, "fail_from": T.GRAD_FAIL}
    bad = [r for r in rows if not r["error"] < T.GRAD_OK]
    worst_error = max(r["error"] for r in rows)
    layers = len({r["layer"] for r in rows})
    if not bad:
        return Finding(
            "gradients",
            "ok",
            (
                f"backward() of all {layers - 1} layers and of the loss agrees with central "
                f"differences in float64: largest relative error {worst_error:.1e} (passes below "
                f"{T.GRAD_OK:g})."
            ),
            data,
        )
    failed = [r for r in bad if not r["error"] < T.GRAD_FAIL]
    status = "fail" if failed else "warn"
    first = (failed or bad)[0]
    others = sorted({r["layer"] for r in bad} - {first["layer"]})
    error = (
        "raised " + first["note"]
        if first["gradient"] == "backward"
        else f"is off for its {first['gradient']}: relative error {first['error']:.2g} "
        f"(passes below {T.GRAD_OK:g}, fails from {T.GRAD_FAIL:g})"
    )
    also = f" Also off: {', '.join(others)}." if others else ""
    return Finding(
        "gradients",
        status,
        (
            f"First failing layer: {first['layer']}; its backward() {error}.{also} A wrong "
            "gradient can still let the loss fall (learning curves hide it), but the network "
            "learns less well than it should. Try: derive that layer's backward() again (what "
            "does each output depend on?); check it alone with "
            "cnn_numpy.check_layer_gradients(layer, x) on a float64 copy."
        ),
        data,
    )
