"""``cnn-numpy train``: the seed's experiment by default, every knob a flag.

``run`` is the whole story, one named step per line: settings -> data -> model, optimizer
and schedule (fresh, or from the checkpoint) -> memory check -> run folder -> train ->
report.  Each step lives in its own module (see ``cli/__init__.py``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ...layers import Residual
from ...layers.base import layers_of
from ...train import steps_per_epoch
from ...transforms import augmentation
from ..saving.run_folder import save_config
from ..visualize.augmentation import save_augmented
from ..visualize.report import save_note, write_report
from . import adversarial, live
from .common import UsageError, writing
from .dataset import Data, load_data, novelty_images
from .exercises import add_layers_from_argument, use_layers_from
from .flag_notes import APPLIES, batch_note, flag, limit_note, monitor_note, notes
from .memory_check import check_memory
from .novelty_check import store_novelty
from .run_dir import check_out_folder, run_folder
from .saved_settings import check_epochs, resume_settings
from .settings import NO_FLIPS, TrainSettings, resolve_defaults
from .stopping import terminated_as_exit
from .train_flags import add_arguments
from .training import (
    EpochSaver,
    Training,
    build_model,
    build_scheduler,  # noqa: F401  (tests build schedules from parsed flags)
    model_card,
    read_checkpoint,
    start_fresh,
    start_from,
    train_epochs,
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a CNN (default: the seed's lines experiment)",
        description="Train a CNN and print one line per epoch. With no flags: the seed's "
        "experiment, vertical vs horizontal lines, Conv-ReLU-Pool-Linear, SGD.",
    )
    add_arguments(p)  # the data, model, optimizer and run flags: train_flags.py
    adversarial.add_arguments(p)
    live.add_arguments(p)
    add_layers_from_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with terminated_as_exit():  # a SIGTERM stops the workers and removes their files
        return train_run(args)


def train_run(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    for line in [*notes(settings, args), *monitor_note(settings)]:
        print(line)
    checkpoint = read_checkpoint(settings.resume) if settings.resume is not None else None
    if checkpoint is not None:  # --epochs below the epochs done: refused, config.json kept
        check_epochs(settings, checkpoint, given=args.epochs is not None)
    data = load_data(settings.data_source())
    settings.data_dir = data.folder  # absolute: a resume from any folder finds the files
    print(data.summary)
    images = len(data.train[0])
    for line in [*limit_note(settings.limit, images), *batch_note(settings.batch_size, images)]:
        print(line)
    training = (
        start_from(checkpoint, settings, data)
        if checkpoint is not None
        else start_model(settings, data)
    )
    training.loss = use_layers_from(args, training.model, training.optimizer, settings.workers)
    check_memory(training.model, settings, data.image_shape, len(data.train[0]), len(data.test[0]))
    with run_folder(settings) as run_dir:
        saver = start_run(run_dir, settings, data, training)
        page = live.start(args, training, settings, data)  # --live: the page's server
        status = train_epochs(training, settings, data, run_dir, saver, page)
    if status == 0:  # a run that learned nothing says so, and what to try (report.html too)
        note = learning_note(training.history, data.test[1], settings, training.model, images)
        for line in note:
            print(line)
        save_note(run_dir, note)
    if status == 0:  # "not a digit": fitted on the training images, in both models
        check_images = novelty_images(data, settings.data_source())
        status = store_novelty(
            run_dir, check_images, settings.seed, settings.uses_reader(), settings.workers
        )
    card = model_card(settings, data)
    if status == 0 and settings.report:
        status = draw_report(run_dir, training, data, settings.augment)
    data.train = None  # what follows needs none of it: MNIST's training set is 47 MB (bytes)
    return live.finish(page, status, training, card, run_dir)


def resolve_settings(args: argparse.Namespace) -> TrainSettings:
    """The flags with the dataset's defaults, or the settings of the run to resume."""
    if args.resume is not None:
        return resume_settings(args)
    settings = resolve_defaults(args)
    if "flip" in settings.augment and settings.dataset in NO_FLIPS:
        raise UsageError(
            f"--augment {settings.augment} mirrors images, and a mirrored digit is another "
            "digit or none (a mirrored 2 is not a 2); use --augment shift or rotate-shift"
        )
    check_out_folder(settings.out, settings.overwrite)  # before the data takes its time
    return settings


def learning_note(history, test_labels, settings: TrainSettings, model=None, n_train=0):
    """A note when the last epoch's test accuracy is no better than always answering the
    test set's most common class (within 5% of the way from there to 100%): the network
    learned nothing, and the lines name the learning rate and the doctor.  A model with
    BatchNorm whose training batches did learn gets the likelier cause instead: its running
    statistics, which the test uses, have not settled in so few steps."""
    if not len(history) or history.test_acc[-1] is None or not len(test_labels):
        return []
    guess = np.bincount(np.asarray(test_labels)).max() / len(test_labels)
    if history.test_acc[-1] > guess + 0.05 * (1 - guess):
        return []
    epochs = f"{len(history)} epoch{'s' * (len(history) != 1)}"
    flags = doctor_flags(settings)
    lines = batchnorm_note(history, guess, settings, model, n_train, epochs, flags)
    if lines:
        return lines
    return [
        f"note: after {epochs} the test accuracy is {percent(history.test_acc[-1])}, no better "
        f"than always answering the most common class ({percent(guess)}): the network did not "
        "learn.",
        f"  The learning rate (now {settings.lr}) is the usual cause, too large or too small "
        f"(or too few epochs); `cnn-numpy diagnose {flags}` suggests a rate and looks for the "
        "other causes (docs/when-training-goes-wrong.md).",
    ]


#: the flags of ``train`` that ``diagnose`` takes too, besides the dataset, model, optimizer and lr
DOCTOR_FLAGS = ("limit", "filters", "blocks", "batch_size", "momentum", "weight_decay", "noise",
                "seed")  # fmt: skip


def doctor_flags(settings: TrainSettings) -> str:
    """``cnn-numpy diagnose``'s flags for this run's images, net and optimizer: each of
    ``DOCTOR_FLAGS`` that applies and that diagnose would not choose by itself (--blocks 5,
    --limit 100), so the doctor checks the run that was trained, not the default one."""
    data_dir = (
        "" if settings.data_dir is None else f" --data-dir {shlex.quote(str(settings.data_dir))}"
    )
    own = resolve_defaults(argparse.Namespace(dataset=settings.dataset, model=settings.model))
    differ = [
        key
        for key in DOCTOR_FLAGS
        if getattr(settings, key) != getattr(own, key)
        and APPLIES.get(key, (lambda s: True,))[0](settings)
    ]
    return (
        f"--dataset {settings.dataset}{data_dir} --model {settings.model} "
        f"--optimizer {settings.optimizer} --lr {settings.lr}"
        + "".join(f" {flag(key)} {getattr(settings, key)}" for key in differ)
    )


def percent(accuracy: float) -> str:
    """``accuracy`` as the epoch line shows it (3 decimals), in percent: 0.1135 is 0.114 there
    and 11.4% here (``f"{0.1135:.1%}"`` would say 11.3%, multiplying before it rounds)."""
    return f"{round(accuracy, 3):.1%}"


def batchnorm_note(history, guess, settings, model, n_train, epochs, flags) -> list[str]:
    """For a model with BatchNorm whose training batches learned (a tenth of the way above
    chance): the test runs on running statistics that still hold much of their starting
    values after few steps, so the lines say to train longer, not to change the rate."""
    momentum = next((m.momentum for m in batch_norms(model)), None)  # None: no BatchNorm,
    steps = len(history) * steps_per_epoch(model, n_train, settings.batch_size) if model else 0
    left = 0.0 if momentum is None else (1 - momentum) ** steps  # or a cumulative average
    if left <= 0.01 or history.train_acc[-1] <= guess + 0.1 * (1 - guess):
        return []
    return [
        f"note: after {epochs} the test accuracy is {percent(history.test_acc[-1])}, no better "
        f"than always answering the most common class ({percent(guess)}), while its training "
        f"batches reached {percent(history.train_acc[-1])}.",
        f"  The test runs on BatchNorm's running statistics, which after {steps} steps still "
        f"hold {left:.0%} of their starting values in each layer: train longer (more images "
        f"or epochs) before changing the learning rate; `cnn-numpy diagnose {flags}` looks "
        "for the other causes (docs/when-training-goes-wrong.md).",
    ]


def batch_norms(model) -> list:
    """The model's layers that normalise with batch statistics (in a Residual's too)."""
    return [] if model is None else [x for x in layers_of(model) if x.batch_statistics]


def start_model(settings: TrainSettings, data: Data) -> Training:
    """A fresh model, optimizer and schedule; a net that does not fit the images is a usage
    error (e.g. --blocks 4 on 28x28 images)."""
    try:
        return start_fresh(settings, data)
    except ValueError as err:
        raise UsageError(str(err) + most_blocks(settings, data)) from err


def most_blocks(settings: TrainSettings, data: Data) -> str:
    """Where --blocks is too many for the images, the most they take (or "")."""
    for blocks in range(settings.blocks - 1, 0, -1):
        try:
            build_model(replace(settings, blocks=blocks), len(data.classes), data.image_shape)
        except ValueError:
            continue
        size = "x".join(map(str, data.image_shape[1:]))
        return f" (--blocks {blocks} at most for {size} images)"
    return ""


def start_run(run_dir: Path, settings: TrainSettings, data: Data, training: Training) -> EpochSaver:
    """Write config.json (and a new run's epoch-0 checkpoint, so Ctrl-C in the first epoch
    can be resumed); print what is about to happen."""
    config = {**settings.saved(), "normalize": data.normalize, "report": settings.report}
    with writing(f"write {run_dir / 'config.json'}"):
        save_config(run_dir, config)
    saver = EpochSaver(run_dir, training, model_card(settings, data), settings.epochs)
    done = len(training.history)
    if settings.resume is None:
        with writing(f"write the first checkpoint into {run_dir}"):
            saver.save(training.history)
    else:
        step = training.progress.step  # > 0: an epoch was interrupted after that batch
        steps = steps_per_epoch(training.model, len(data.train[0]), settings.batch_size)
        print(
            f"Resuming {run_dir} at batch {step + 1} of {steps} in epoch {done + 1} of "
            f"{settings.epochs}"
            if step
            else f"Resuming {run_dir} after epoch {done} of {settings.epochs}"
        )
        if done >= settings.epochs:
            print(
                f"No epoch left to train (all {settings.epochs} epochs are done): the run's "
                "ending is done again, the novelty check and the report (an interrupted ending "
                f"may have missed them); to train on, pass --epochs N with N > {done}"
            )
    schedule = "" if settings.schedule == "none" else f" schedule={settings.schedule}"
    workers = "" if settings.workers is None else f" workers={settings.workers}"
    augment = "" if settings.augment == "none" else f" augment={settings.augment}"
    blocks = sum(isinstance(layer, Residual) for layer in training.model)  # resnet's
    shape = f" ({blocks} basic block{'s' * (blocks != 1)})" if blocks else ""
    print(
        f"Model: {settings.model}{shape} | optimizer={settings.optimizer} lr={settings.lr} "
        f"batch_size={settings.batch_size} epochs={settings.epochs}{schedule}{augment}{workers} | "
        f"run folder: {run_dir}"
    )
    return saver


def draw_report(run_dir: Path, training: Training, data: Data, augment: str = "none") -> int:
    """The pictures and report.html, after training so they never slow the loop; the
    augmentation's picture first, then without the training images (``data.train`` let go:
    the report needs only the test images)."""
    try:
        with writing(
            f"write the report into {run_dir}",
            f"the trained run is saved; draw it later with: cnn-numpy report {run_dir}",
        ):
            if augment != "none":  # the report shows it
                save_augmented(run_dir, data.train[0], augmentation(augment, data.image_shape[-1]))
            data.train = None  # MNIST's training set, 47 MB of bytes
            page = write_report(run_dir, training.model, data.test, data.classes)
    except KeyboardInterrupt:
        print(
            f"\nInterrupted while drawing the report; the trained run is saved in {run_dir} "
            f"(draw it with: cnn-numpy report {run_dir})",
            file=sys.stderr,
        )
        return 130
    print(f"Report: {page} (open it in a browser; pictures beside it)")
    return 0
