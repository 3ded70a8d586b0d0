"""The novelty check as the subcommands use it: ``train`` fits it and stores it in model.npz
and best.npz, ``predict`` answers "not a digit" with it, ``evaluate`` reports how many test
images it refuses.  The library part is ``cnn_numpy.tools.novelty``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ...layers import Conv2d
from ..novelty import NoveltyDetector, fit_novelty, load_novelty, save_novelty, train_reader
from ..novelty.predict import NoveltyPrediction
from ..novelty.reader import EPOCHS, default_workers
from ..novelty.storage import read_novelty
from ..saving.checkpoint import BEST, CHECKPOINT, LAST
from ..saving.model_files import ModelFileError, load, load_with_card, open_npz
from .common import writing


def refusal_words(card: dict) -> str:
    """What a refused image is called: "not a digit" for MNIST's model."""
    return "not a digit" if card.get("dataset") == "mnist" else "not one of its classes"


def missing_note(path: str) -> str:
    run_dir = Path(path).parent
    if (run_dir / CHECKPOINT).is_file() and (run_dir / "config.json").is_file():
        return (  # stopped before its check was fitted, none could be, or from before checks
            f"note: {path} has no novelty check (its run was stopped before the check was "
            "fitted, could not fit one, or trained before cnn-numpy had one), so every image "
            "gets one of its classes, however unlike them it is; add it with: cnn-numpy train "
            f"--resume {run_dir} (which says why if it cannot, e.g. a class with too few images)"
        )
    return (
        f"note: {path} has no novelty check (it was saved before cnn-numpy had one, or "
        "by cnn_numpy.save alone), so every image gets one of its classes, however unlike "
        "them it is; train again, or add one with cnn_numpy.fit_novelty and save_novelty"
    )


def older_note(path: str) -> str:
    """A check from before its clues were weighed by outlier exposure (file version 1)."""
    return (
        f"note: {path} has an older novelty check (before 2026-12): it weighs its stages "
        "equally instead of as learned from outliers made from the training images, so it "
        "lets more images through that are none of its classes (docs/novelty.md); train "
        "again for the newer one"
    )


def unweighted_note(path: str, why: str) -> str:
    """A check fitted now whose weighing could not be learned (exposure.py says why)."""
    return (
        f"note: {path}'s novelty check weighs its stages equally: it could not learn how to "
        f"weigh them ({why}), so it lets more images through that are none of its classes "
        "(docs/novelty.md); train on more images (a larger --limit, or none) for a learned one"
    )


#: fit_novelty learns how to weigh the stages from at least this many held-out images
#: (novelty/exposure.py); with fewer, the file holds the unweighted check, as version 1 did
LEARNED_FROM = 20


def few_images_note(path: str, held_out: int) -> str:
    """A new check fitted with too few held-out images to learn its weighing: not an old file."""
    return (
        f"note: {path}'s novelty check was fitted with {held_out} held-out images, too few "
        f"(under {LEARNED_FROM}) to learn how to weigh its stages, so it weighs them equally "
        "and lets more images through that are none of its classes (docs/novelty.md); train "
        "on more images (a larger --limit, or none) for the learned one"
    )


def checkpoint_note(path: str) -> str:
    """A checkpoint is not an old model file: it holds the training state, and the run's
    model files beside it hold the novelty check."""
    run_dir = Path(path).parent
    with_check = [str(run_dir / name) for name in (BEST, LAST) if has_check(run_dir / name)]
    where = (
        f"use one of the run's model files, which have it: {', '.join(with_check)}"
        if with_check
        else f"the run has no model file with one yet; finish its training with: "
        f"cnn-numpy train --resume {run_dir}"
    )
    return (
        f"note: {path} is a training checkpoint (what train --resume continues from), not a "
        "model file: it has no novelty check, so every image gets one of its classes, however "
        f"unlike them it is; {where}"
    )


def has_check(path: Path) -> bool:
    try:
        return path.is_file() and load_novelty(path) is not None
    except (OSError, ModelFileError):
        return False


def score_text(value: float) -> str:
    """A novelty score or threshold for a line of text: two decimals, or two significant
    digits for a small one (a net that learned nothing has thresholds like 0.0031)."""
    return f"{value:.2f}" if abs(value) >= 0.1 or value == 0 else f"{value:.2g}"


def describe(detector: NoveltyDetector) -> str:
    reader = "" if detector.reader is None else ", read by a LeNet trained beside the model"
    return (
        f"score above {score_text(detector.threshold)} refused, {detector.holdout_refused:.1%} of "
        f"{detector.holdout_images:,} held-out training images{reader}"
    )


def store_novelty(
    run_dir: Path,
    train: tuple[np.ndarray, np.ndarray],
    seed: int,
    reader: bool = False,
    workers: int | None = None,
) -> int:
    """Fit the novelty check on the training images for model.npz and best.npz (once if
    they hold the same weights) and store it in each file; with ``reader``, the check reads
    a LeNet trained first on the same images (``workers``: its processes; None: both cores
    where there are two).  0, or 130 after Ctrl-C (or the live page's Stop): the model files
    are left as they were, each with or without its check, never half written, and a line
    says how to finish (``train --resume`` fits the check again, then draws the report)."""
    try:
        return fit_and_store(run_dir, train, seed, reader, workers)
    except KeyboardInterrupt:
        print(interrupted_note(run_dir), file=sys.stderr)
        return 130


def interrupted_note(run_dir: Path) -> str:
    """What a Ctrl-C while the check was fitted leaves, and the command that finishes it."""
    unchecked = [n for n in (LAST, BEST) if (run_dir / n).is_file() and not has_check(run_dir / n)]
    state = (
        f"{' and '.join(unchecked)} {'have' if len(unchecked) > 1 else 'has'} no novelty "
        "check yet (predict would say so)"
        if unchecked
        else "the novelty check is stored"
    )
    return (
        f"\nInterrupted while fitting the novelty check: the trained run in {run_dir} is saved "
        f"as it was; {state}. Finish it (the check, then the report) with:\n"
        f"  cnn-numpy train --resume {run_dir}"
    )


def fit_and_store(
    run_dir: Path,
    train: tuple[np.ndarray, np.ndarray],
    seed: int,
    reader: bool,
    workers: int | None,
) -> int:
    """``store_novelty`` without its Ctrl-C note."""
    X, y = train
    net = None
    if reader:
        net = reader_for(run_dir, train, seed, workers)
        if net is None:
            return 130
    fitted: list[tuple[dict, NoveltyDetector]] = []
    for name in (LAST, BEST):
        path = run_dir / name
        if not path.is_file():
            continue
        model = load(path)
        state = model.state_dict()
        detector = next(
            (
                d
                for s, d in fitted
                if s.keys() == state.keys() and all(np.array_equal(s[k], state[k]) for k in s)
            ),
            None,
        )
        if detector is None:
            try:
                detector = fit_novelty(
                    model, X, y, rng=np.random.default_rng([seed, 5]), reader=net
                )
            except ValueError as err:  # e.g. --limit left a class without images
                print(f"note: no novelty check stored: {err}")
                return 0
            fitted.append((state, detector))
        with writing(f"store the novelty check in {path}"):
            save_novelty(path, detector)
    if fitted:
        text = describe(fitted[0][1])
        if len(fitted) > 1:  # best.npz holds another epoch's weights, so its own threshold
            first = f"score above {score_text(fitted[0][1].threshold)} refused"
            other = f" ({BEST}: above {score_text(fitted[1][1].threshold)})"
            text = text.replace(first, first + other, 1)
        stored = " and ".join(n for n in (LAST, BEST) if (run_dir / n).is_file())
        print(f"Novelty check: {text}; stored in {stored}")
    return 0


def reader_for(run_dir: Path, train: tuple[np.ndarray, np.ndarray], seed: int, workers):
    """The LeNet the check reads, trained on the training images, with one line saying why
    and how long it took; None after Ctrl-C (with a note: the model files stay unchecked)."""
    path = run_dir / LAST
    model, card = load_with_card(path) if path.is_file() else (None, {})
    start = time.perf_counter()
    try:
        net = train_reader(
            *train,
            rng=np.random.default_rng([seed, 6]),
            num_classes=model.layers[-1].out_features if model is not None else None,
            workers=workers or default_workers(),
        )
    except KeyboardInterrupt:
        print(
            f"\nInterrupted while training the novelty check's reader: the model files in "
            f"{run_dir} are saved as they were, without a novelty check (predict will say "
            f"so); add it with: cnn-numpy train --resume {run_dir}",
            file=sys.stderr,
        )
        return None
    convs = [layer for layer in getattr(model, "layers", ()) if isinstance(layer, Conv2d)]
    things = (
        "letters from digits" if card.get("dataset") == "mnist" else "other things from its classes"
    )
    why = (
        f"the seed net's {convs[0].out_channels} filters cannot tell {things}, so "
        if card.get("preset") == "seed" and convs
        else ""
    )
    print(
        f"Novelty check: {why}the check reads a LeNet trained beside the model for "
        f"{EPOCHS} epoch ({time.perf_counter() - start:.0f} s)"
    )
    return net


def load_check(path: str) -> NoveltyDetector | None:
    """The model file's novelty check, or None (with a note on stdout) if it has none."""
    header, arrays = open_npz(path)
    detector = read_novelty(header, arrays, path)
    if detector is None:
        print(checkpoint_note(path) if header.get("kind") == "checkpoint" else missing_note(path))
    elif detector.combination is None and 0 < detector.holdout_images < LEARNED_FROM:
        print(few_images_note(path, detector.holdout_images))
    elif detector.combination is None and detector.unweighted:
        print(unweighted_note(path, detector.unweighted))
    elif detector.combination is None:
        print(older_note(path))
    return detector


def refusal_report(
    answer: NoveltyPrediction, y: np.ndarray, card: dict, detector: NoveltyDetector
) -> str:
    """evaluate's lines: how many test images the check refuses, and the accuracy on the
    rest and overall (a refused image counted as wrong)."""
    refused = int(answer.refused.sum())
    kept = ~answer.refused
    right = answer.predicted == y
    kept_acc = f"{right[kept].mean():.4f}" if kept.any() else "-"
    return (
        f"Novelty check ({describe(detector)}):\n"
        f"  refused as {refusal_words(card)}: {refused / len(y):.2%} ({refused}/{len(y)})\n"
        f"  accuracy on the images it accepts: {kept_acc}\n"
        f"  right and accepted: {(right & kept).mean():.4f}"
    )
