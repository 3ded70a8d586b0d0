"""The checks read from one forward pass at the current weights: ``init_loss``, ``dead_relu``
and ``saturation``."""

from __future__ import annotations

import math

import numpy as np

from ...layers import Sigmoid
from . import thresholds as T
from .findings import Finding


def check_init_loss(loss_value: float, logits: np.ndarray, last_layer=None) -> Finding:
    """The loss before training against ln C: above ``INIT_LOSS_WARN`` / ``INIT_LOSS_FAIL``
    times ln C warns / fails.  Shape: logits (N, C)."""
    num_classes = logits.shape[1]
    chance = math.log(num_classes)
    shifted = logits - logits.max(axis=1, keepdims=True)
    proba = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    confidence = float(np.mean(proba.max(axis=1)))
    data = {
        "loss": loss_value,
        "chance": chance,
        "confidence": confidence,
        "num_classes": num_classes,
    }
    measured = (
        f"The loss before training is {loss_value:.4g}; ln {num_classes} = "
        f"{chance:.3f} is the loss of answering every class with probability "
        f"1/{num_classes}"
    )
    squashed = squashed_outputs(logits, last_layer)
    if squashed is not None:
        return squashed
    if not math.isfinite(loss_value):
        return Finding(
            "init_loss",
            "fail",
            (
                f"{measured}, but this one is not a number: the logits overflow. Try: look at "
                "input_scale (huge inputs) and at the weights' initialisation."
            ),
            data,
        )
    ratio = loss_value / chance
    data["ratio"] = ratio
    if ratio < 0.5 and confidence < 2 / num_classes:
        # near-even answers have a cross-entropy near ln C: this loss is something else
        return Finding(
            "init_loss",
            "warn",
            (
                f"{measured}; this is {ratio:.2f}x that, yet the network answers every class "
                f"with about the same probability (its top class gets {confidence:.2f} on "
                "average), whose cross-entropy is about ln C: the loss is not the "
                "cross-entropy of these logits (e.g. a squared error against one-hot labels). "
                "Try: CrossEntropyLoss() for classes, on the raw logits."
            ),
            data,
        )
    if ratio <= T.INIT_LOSS_WARN:
        learned = (
            " It is well below: the model has learned something already (trained weights?)."
            if ratio < 0.5
            else " As it should be at initialisation."
            if ratio <= 1.1
            else f" It is {ratio:.2f}x that: a little confident "
            f"already, within the {T.INIT_LOSS_WARN:g}x margin."
        )
        return Finding("init_loss", "ok", f"{measured}.{learned}", data)
    status = "fail" if ratio > T.INIT_LOSS_FAIL else "warn"
    return Finding(
        "init_loss",
        status,
        (
            f"{measured}: this is {ratio:.1f}x that. The network is confidently wrong before it "
            f"has learned anything: its top class gets probability {confidence:.2f} on average. "
            "Training first has to undo that (the 'hockey stick' loss curve). Usually the last "
            "layer's weights are too large, or the inputs are (see input_scale). Try: scale the "
            "last layer's initial weights down (model[-1].weight.data *= 0.01; Karpathy's recipe: "
            "'init well'), or keep the default initialisation."
        ),
        data,
    )


def squashed_outputs(logits: np.ndarray, last_layer=None) -> Finding | None:
    """A fail when the model's outputs are probabilities (all in [0, 1], each row summing to
    1: a softmax at the end) or the last layer is a Sigmoid, where the loss wants logits.
    (Small logits may all lie in [0, 1] by chance: that alone is no sign.)"""
    if not np.all(np.isfinite(logits)) or logits.min() < 0 or logits.max() > 1:
        return None
    num_classes = logits.shape[1]
    if num_classes < 2:
        return None
    softmax = bool(np.allclose(logits.sum(axis=1), 1, rtol=0, atol=1e-3))
    if not softmax and not isinstance(last_layer, Sigmoid):
        return None
    # the best the loss can do when every output is in [0, 1]: 1 for the right class, 0 for
    # the others, i.e. -log(e / (e + C - 1))
    floor = math.log(1 + (num_classes - 1) / math.e)
    what = (
        "probabilities: every row lies in [0, 1] and sums to 1 (the model ends in a softmax)"
        if softmax
        else "squashed into [0, 1] (the model ends in a Sigmoid)"
    )
    layer = "Softmax" if softmax else "Sigmoid"
    return Finding(
        "init_loss",
        "fail",
        (
            f"The model's outputs are {what}. CrossEntropyLoss takes logits, raw scores of any "
            "size, and applies the softmax itself: here it is applied to values that can differ "
            f"by 1 at most, so the loss can never fall below {floor:.2f} (ln {num_classes} = "
            f"{math.log(num_classes):.2f} at chance), its gradients are tiny and training "
            f"crawls. Try: remove the {layer} at the end of the model (model.layers.pop()); "
            "predict_proba(model, X) gives probabilities when you need them."
        ),
        {"softmax": softmax, "floor": floor, "num_classes": num_classes},
    )


def dead_cause(model, stats: list[dict], label: str) -> tuple[str, str] | None:
    """``(cause, advice)`` read from the layer that feeds the dead ReLU ``label`` (one of the
    model's own layers, "i: ReLU"): weights all one value (zero or constant initialisation),
    or biases so negative that they outweigh the rest of every pre-activation; else None."""
    head = label.split(":")[0]
    layers = list(getattr(model, "layers", []))
    if model is None or not head.isdigit() or int(head) == 0 or int(head) > len(layers):
        return None
    index = int(head) - 1
    feed, name = layers[index], f"{index}: {type(layers[index]).__name__}"
    weight, bias = getattr(feed, "weight", None), getattr(feed, "bias", None)
    if weight is None or not hasattr(weight, "data") or weight.data.size == 0:
        return None
    w = weight.data
    if np.all(w == w.flat[0]):
        value = "0" if w.flat[0] == 0 else f"the same value, {w.flat[0]:g}"
        return (
            f"every weight of {name} is {value}: its units all compute the same thing (and "
            "with weights 0, nothing; no gradient reaches the layers before), so they cannot "
            "learn different features (the symmetry a random initialisation breaks)",
            f"keep the random initialisation the layers start with (a new {type(feed).__name__}, "
            "or reload the model), rather than setting weights to a constant",
        )
    pre = next((s for s in stats if s["label"] == name), None)
    if bias is None or not hasattr(bias, "data") or pre is None:
        return None
    b = float(np.mean(bias.data))
    if b < 0 and pre["mean"] < 0 and -b > 2 * pre["std"]:
        return (
            f"the biases of {name} are far negative (mean {b:.3g}) against pre-activations that "
            f"spread by {pre['std']:.3g}: they push every one below 0",
            f"set those biases to 0, the default (model[{index}].bias.data[...] = 0)",
        )
    return None


def check_dead_relu(stats: list[dict], model=None) -> Finding:
    """Per ReLU layer, the fraction of units (filters, for conv layers) never active on the
    probe batch: ``DEAD_WARN`` or more warns, ``DEAD_FAIL`` or more fails.  With ``model``,
    the advice names the cause when the layer feeding a dead ReLU shows one (``dead_cause``)."""
    layers = [
        {
            "label": s["label"],
            "units": len(s["activity"]),
            "dead": int(np.sum(np.asarray(s["activity"]) == 0)),
            "activity": s["activity"],
        }
        for s in stats
        if "activity" in s
    ]
    data = {"layers": layers}
    if not layers:
        return Finding("dead_relu", "ok", "The model has no ReLU layers.", data)
    for layer in layers:
        layer["fraction"] = layer["dead"] / layer["units"]
    worst_layer = max(layers, key=lambda layer: layer["fraction"])
    share = worst_layer["fraction"]
    listed = "; ".join(f"{layer['label']} {layer['dead']} of {layer['units']}" for layer in layers)
    measured = f"Units never active on the probe batch, per ReLU layer: {listed}"
    if share < T.DEAD_WARN:
        verdict = (
            "Every unit responds to something"
            if share == 0
            else f"At most {share:.0%} of a layer ({worst_layer['label']}) is dead, under the "
            f"{T.DEAD_WARN:.0%} that warns: healthy nets show up to 40%"
        )
        return Finding("dead_relu", "ok", f"{measured}. {verdict}.", data)
    status = "fail" if share >= T.DEAD_FAIL else "warn"
    for layer in layers:  # the first dead layer's cause: the later ones follow from it
        cause = (
            dead_cause(model, stats, layer["label"]) if layer["fraction"] >= T.DEAD_WARN else None
        )
        if cause is not None:
            data["cause"] = cause[0]
            return Finding(
                "dead_relu",
                status,
                (
                    f"{measured}: {share:.0%} of {worst_layer['label']} is dead, and "
                    f"{layer['label']} is dead because {cause[0]}. A dead ReLU outputs 0 for "
                    "every input and passes no gradient back, so it never comes back. "
                    f"Try: {cause[1]}."
                ),
                data,
            )
    return Finding(
        "dead_relu",
        status,
        (
            f"{measured}: {share:.0%} of {worst_layer['label']} is dead. A dead ReLU outputs 0 "
            "for every input, so no gradient flows through it and it never comes back: that "
            "part of the network is lost. Usually a step too large knocked the biases far "
            "negative (CS231n), or the initialisation or inputs put every pre-activation below "
            "0. Try: a smaller learning rate; biases initialised at 0 or slightly positive; "
            "standardised inputs; LeakyReLU, whose negative side still passes gradient."
        ),
        data,
    )


def check_saturation(stats: list[dict]) -> Finding:
    """Per Tanh/Sigmoid layer, the fraction of outputs in the flat zone at either limit:
    ``SATURATION_WARN`` or more warns, ``SATURATION_FAIL`` or more fails."""
    layers = [
        {"label": s["label"], "saturated": s["saturated"]}
        for s in stats
        if s["saturated"] is not None
    ]
    data = {"layers": layers}
    if not layers:
        return Finding("saturation", "ok", "The model has no Tanh or Sigmoid layers.", data)
    worst_layer = max(layers, key=lambda layer: layer["saturated"])
    share = worst_layer["saturated"]
    listed = "; ".join(f"{layer['label']} {layer['saturated']:.0%}" for layer in layers)
    measured = (
        f"Outputs stuck near their limits (tanh |t| > {T.TANH_LIMIT}, sigmoid within "
        f"{(1 - T.TANH_LIMIT) / 2:.3g} of 0 or 1): {listed}"
    )
    if share < T.SATURATION_WARN:
        return Finding("saturation", "ok", f"{measured}. Gradients pass.", data)
    status = "fail" if share >= T.SATURATION_FAIL else "warn"
    return Finding(
        "saturation",
        status,
        (
            f"{measured}. There the derivative (1 - t^2, or s(1 - s)) is nearly 0, so almost no "
            "gradient passes and the layers before learn slowly or not at all (CS231n: "
            "'sigmoids saturate and kill gradients'). Their inputs are too large. Try: "
            "standardised inputs; smaller initial weights (about 1/sqrt(fan_in)); BatchNorm "
            "before the nonlinearity; or ReLU."
        ),
        data,
    )
