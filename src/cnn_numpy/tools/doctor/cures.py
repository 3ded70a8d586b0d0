"""When the tiny batch is not memorised, find the one change that lets it be.

``overfit`` failing says that something blocks learning, not what.  A doctor who suspects a
cause tries the remedy: here the same 20-image test is run again on fresh copies with one
setting changed at a time, the usual suspects first (weight decay, Dropout, the learning
rate the range test suggests), and the first change that reaches 100% is named as the cause,
with the setting that was shown to work.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...layers import Dropout
from ...layers.base import layers_of
from . import thresholds as T
from .findings import Finding
from .short_runs import check_overfit
from .signal_run import no_signal


def suspects(optimizer, model, suggested: float | None) -> list[tuple[str, str, str, Callable]]:
    """``(setting, what was changed, what to try, change(model, optimizer))`` for each setting
    that can keep a network from memorising a few images, in the order they are tried;
    ``setting`` is "weight decay", "Dropout" or "lr"."""
    tries = []
    decay = float(getattr(optimizer, "weight_decay", 0) or 0)
    if decay:
        tries.append(
            (
                "weight decay",
                f"with weight decay 0 instead of your {decay:g}",
                f"weight_decay=0, or a usual value such as 1e-4 to 5e-4: yours, {decay:g}, pulls "
                "every weight towards 0 harder than the gradient can move it",
                lambda m, o: setattr(o, "weight_decay", 0.0),
            )
        )
    drops = [layer for layer in layers_of(model) if isinstance(layer, Dropout) and layer.p > 0]
    if drops:
        rates = ", ".join(sorted({f"{layer.p:g}" for layer in drops}))
        tries.append(
            (
                "Dropout",
                f"without Dropout (yours: p={rates})",
                f"a smaller Dropout p (0.5 at most; yours: {rates}), or train longer",
                lambda m, o: [setattr(d, "p", 0.0) for d in layers_of(m) if isinstance(d, Dropout)],
            )
        )
    lr = float(optimizer.lr)
    if suggested is not None and not 0.5 <= suggested / lr <= 2:
        tries.append(
            (
                "lr",
                f"at lr {suggested:.2g} (the lr finding's suggestion) instead of your {lr:g}",
                f"lr={suggested:.2g}",
                lambda m, o: setattr(o, "lr", float(suggested)),
            )
        )
    return tries


def find_cure(
    copies: Callable,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    seed: int,
    suggested: float | None,
) -> dict | None:
    """The first of ``suspects`` with which the overfit test passes on fresh ``copies()``:
    ``{"setting", "changed", "advice", "finding"}``, or None when none of them is enough."""
    model, optimizer, _ = copies()
    for setting, changed, advice, change in suspects(optimizer, model, suggested):
        model, optimizer, loss = copies()
        change(model, optimizer)
        found = check_overfit(model, optimizer, loss, X, y, batch_size, np.random.default_rng(seed))
        if found.ok:
            return {"setting": setting, "changed": changed, "advice": advice, "finding": found}
    return None


def explain_overfit(finding: Finding, cure: dict | None, tried: int) -> Finding:
    """The overfit finding with its cause: the change that cured the test, or, when ``tried``
    changes did not, that the cause lies elsewhere."""
    if finding.ok:
        return finding
    data = dict(finding.data)
    if cure is None:
        data["cure"] = None
        ruled_out = (
            "Changing the weight decay, Dropout or learning rate alone did not help"
            if tried
            else "There is no weight decay or Dropout to blame, and the rate is near the lr "
            "finding's suggestion"
        )
        message = (
            f"{finding.message.split(' Try:')[0]} {ruled_out}, so the cause is elsewhere. Try: "
            "fix the other findings first (labels, input_scale, init_loss, gradients, "
            "dead_relu, saturation); a bigger model."
        )
        return Finding(finding.check, finding.status, message, data)
    epochs = len(cure["finding"].data["accuracies"])
    data["cure"] = {key: cure[key] for key in ("setting", "changed", "advice")}
    data["cure"]["epochs"] = epochs
    done = finding.message.split(". A network")[0].split(" Try:")[0].rstrip(".")
    return Finding(
        finding.check,
        finding.status,
        (
            f"{done}. Run again {cure['changed']}, it reaches 100% in {epochs} epoch"
            f"{'s' if epochs > 1 else ''}: that setting is what blocks learning. "
            f"Try: {cure['advice']}."
        ),
        data,
    )


def cross_reference(found: dict[str, Finding], held_out: Callable[[], dict | None]) -> None:
    """Make the findings that read each other agree, in place.  A rate the range test allows,
    but with which the tiny batch is memorised only at another rate, is not "ok".  A model
    that can memorise 20 images, with right gradients and live units, but that learns
    nothing that carries from image to image has labels that do not follow the images: its
    loss fell at no rate, or, where your rate is judged fine, ``held_out()`` (the short run's
    loss on images it did not train on; see ``signal_run``) did not fall."""
    overfit, lr = found.get("overfit"), found.get("lr")
    cure = overfit.data.get("cure") if overfit is not None else None
    if lr is not None and lr.ok and cure and cure["setting"] == "lr":
        found["lr"] = Finding(
            "lr",
            "warn",
            (
                f"{lr.message.split(': within range')[0].removesuffix('.')}: the curve allows "
                "it, but it is too far from the best rate for this setup: at it the 20-image "
                f"test (overfit) is not memorised, {cure['changed']} it is. Try: "
                f"{cure['advice']}."
            ),
            lr.data,
        )
        lr = found["lr"]
    if cure and cure["setting"] != "lr":  # weight decay or Dropout
        learns = "with weight decay 0" if cure["setting"] == "weight decay" else "without Dropout"
        for name in ("update_ratio", "lr"):
            if name in found and not found[name].ok:
                f = found[name]
                note = f" The likely cause: see overfit (it learns {learns})."
                found[name] = Finding(name, f.status, f.message + note, f.data)
        lr = found.get("lr")
    others_fine = all(
        found[name].ok
        for name in ("input_scale", "init_loss", "gradients", "dead_relu", "saturation")
        if name in found
    )
    if not (
        overfit is not None
        and overfit.ok
        and lr is not None
        and others_fine
        and "labels" in found
        and found["labels"].status != "fail"
    ):
        return
    flat = bool(lr.data.get("flat"))
    run = held_out() if lr.ok and not flat else None  # measured at your rate: only if fine
    if not (flat or no_signal(run)):
        return
    evidence = (
        "trained on more of them, its loss fell at no learning rate (lr)"
        if run is None
        else f"trained for {run['steps']} steps at your lr {run['lr']:.2g}, its loss on "
        f"{run['held_out']} images it was not trained on went from {run['before']:.3g} to "
        f"{run['after']:.3g}, no better than answering every image with the classes' shares "
        f"({run['prior']:.3g})"
    )
    labels = found["labels"]
    found["labels"] = Finding(
        "labels",
        "fail",
        (
            f"{labels.message.removesuffix('.')}, but they do not follow the images: the model "
            "memorises 20 images (overfit), its gradients are right and its units alive, yet "
            f"{evidence}. What it learns of one image says nothing about another: labels "
            "shuffled, or out of step with the images (an off-by-one, images and labels sorted "
            "or cut apart), look like this. Try: look at a few images beside their labels; "
            "keep images and labels together (one permutation for both: order = "
            "rng.permutation(len(y)); X, y = X[order], y[order]); check that the labels file "
            "belongs to the images file."
        ),
        {**labels.data, "no_signal": True, "held_out": run},
    )
    if not lr.ok:
        found["lr"] = Finding(
            "lr", lr.status, lr.message + " The likely cause: see labels.", lr.data
        )


def heavy_dropout(finding: Finding, model) -> Finding:
    """An ok overfit finding turned into a warning when a Dropout drops more than
    ``DROPOUT_WARN`` of its inputs: the test measures in eval mode, without Dropout."""
    rates = sorted({d.p for d in layers_of(model) if isinstance(d, Dropout)})
    if not finding.ok or not rates or rates[-1] <= T.DROPOUT_WARN:
        return finding
    return Finding(
        "overfit",
        "warn",
        (
            f"{finding.message.removesuffix('.')}, measured without Dropout; but a Dropout "
            f"with p={rates[-1]:g} zeroes {rates[-1]:.0%} of its inputs at every training step, "
            "so the layers after it learn from a small, noisy part of each image and training "
            f"is slow (Srivastava et al. 2014 found p = {T.DROPOUT_WARN:g} close to optimal for "
            f"hidden units, 0.2 for inputs). Try: Dropout(p={T.DROPOUT_WARN:g}) or less."
        ),
        {**finding.data, "dropout": rates[-1]},
    )
