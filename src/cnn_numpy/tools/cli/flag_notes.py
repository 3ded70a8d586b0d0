"""Notes on ``cnn-numpy train``'s flags: one line for each flag given that this run does
not use (and why), for --monitor beside DataParallel's workers, and for a batch larger
than the training set."""

from __future__ import annotations

import argparse

from .settings import SAVED, TrainSettings

#: flags that shape only some runs: setting -> (does it apply to this run?, why not)
APPLIES = {
    "momentum": (
        lambda s: s.optimizer == "sgd",
        "momentum is SGD's; Adam keeps its own running averages of the gradient",
    ),
    "filters": (lambda s: s.model == "seed", "it shapes the seed net only"),
    "blocks": (
        lambda s: s.model in ("seed", "resnet"),
        "it shapes the seed net and the resnet only",
    ),
    "noise": (lambda s: s.dataset == "lines", "it is the noise of the synthetic lines"),
    "data_dir": (lambda s: s.dataset != "lines", "the lines are drawn, not read from files"),
    "step_size": (lambda s: s.schedule == "step", "it applies to --schedule step"),
    "gamma": (lambda s: s.schedule == "step", "it applies to --schedule step"),
    "eta_min": (lambda s: s.schedule == "cosine", "it applies to --schedule cosine"),
    "attack": (lambda s: s.adversarial is not None, "it is the attack of --adversarial"),
    "attack_steps": (
        lambda s: s.adversarial is not None and s.attack == "pgd",
        "it is the number of steps of --adversarial's PGD",
    ),
}


def notes(settings: TrainSettings, args: argparse.Namespace) -> list[str]:
    """One line for each flag given that this run does not use."""
    given = [k for k in SAVED if getattr(args, k, None) is not None]
    if settings.resume is not None:
        kept = ("epochs", "workers", *(("data_dir",) if settings.dataset != "lines" else ()))
        ignored = [k for k in given if k not in kept]
        if args.overwrite:
            ignored.append("overwrite")
        return (
            [
                f"note: {', '.join(flag(k) for k in ignored)} ignored with --resume: the run "
                "keeps the settings in its config.json"
            ]
            if ignored
            else []
        )
    lines = []
    for key in given:
        applies, why = APPLIES.get(key, (lambda s: True, ""))
        if not applies(settings):
            lines.append(f"note: {flag(key)} {getattr(args, key)} is ignored: {why}")
    if settings.schedule == "cosine" and settings.eta_min > settings.lr:  # legal, as in torch
        lines.append(
            f"note: --eta-min {settings.eta_min:g} is above --lr {settings.lr:g}, so the cosine "
            f"schedule raises the learning rate to {settings.eta_min:g} instead of lowering it"
        )
    return lines


def monitor_note(settings: TrainSettings) -> list[str]:
    """A note when --monitor runs beside DataParallel's workers: they run the layers in
    processes of their own, where the monitor cannot watch the activations."""
    if not settings.monitor or (settings.workers or 1) == 1:
        return []
    return [
        f"note: --monitor records no activations with --workers {settings.workers} (each "
        "worker runs the layers in a process of its own), only gradients and update ratios; "
        "--workers 1 records both"
    ]


def limit_note(limit: int | None, images: int) -> list[str]:
    """A note when ``--limit`` asks for more training images than there are: it changes nothing."""
    if limit is None or limit <= images:
        return []
    return [
        f"note: --limit {limit} is more than the {images} training images: all {images} are used"
    ]


def batch_note(batch_size: int, images: int) -> list[str]:
    """A note when one batch holds all the training images: an epoch is then one step."""
    if batch_size <= images:
        return []
    return [
        f"note: --batch-size {batch_size} is more than the {images} training images, so each "
        f"epoch is 1 step (one batch of all {images}); a smaller batch gives more steps"
    ]


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")
