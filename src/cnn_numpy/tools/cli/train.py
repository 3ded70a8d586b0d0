"""``cnn-numpy train``: the seed's experiment by default, every knob a flag.

``run`` is the whole story, one named step per line: settings -> data -> model, optimizer
and schedule (fresh, or from the checkpoint) -> memory check -> run folder -> train ->
report.  Each step lives in its own module (see ``cli/__init__.py``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ...transforms import augmentation
from ..saving.run_folder import save_config
from ..visualize.augmentation import save_augmented
from ..visualize.report import write_report
from . import adversarial, live
from .common import UsageError, writing
from .dataset import Data, load_data
from .exercises import add_layers_from_argument, use_layers_from
from .memory_check import check_memory
from .novelty_check import store_novelty
from .run_dir import check_out_folder, run_folder
from .settings import (
    CHECKS,
    CHOICES,
    NO_FLIPS,
    TrainSettings,
    batch_note,
    notes,
    resolve_defaults,
    resume_settings,
)
from .training import (
    EpochSaver,
    Training,
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
    p.add_argument(
        "--dataset",
        choices=CHOICES["dataset"],
        default=None,
        help="lines (synthetic, the default), mnist, fashion-mnist or cifar10 (the official "
        "binary version, 32x32 colour)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="folder with the dataset's IDX files, or its parent (default: "
        "$CNN_NUMPY_DATA, else data/<dataset>/; downloaded there if missing)",
    )
    p.add_argument(
        "--limit",
        type=CHECKS["limit"],
        default=None,
        metavar="N",
        help="train on the first N training images only (quick experiments)",
    )
    p.add_argument(
        "--model",
        choices=CHOICES["model"],
        default=None,
        help="network preset (default per dataset: seed for lines, lenet for mnist and "
        "fashion-mnist)",
    )
    p.add_argument(
        "--filters",
        type=CHECKS["filters"],
        default=None,
        help="filters in the first conv layer of the seed net, 1-512 (default 8)",
    )
    p.add_argument(
        "--blocks",
        type=CHECKS["blocks"],
        default=None,
        help="Conv->ReLU->Pool blocks in the seed net (default 1)",
    )
    p.add_argument(
        "--augment",
        choices=CHOICES["augment"],
        default=None,
        help="random changes to each training batch: shift (up to 2 pixels), crop-flip (a "
        "random crop of the image padded by 2 pixels, 4 at 32x32, and a left-right mirror), "
        "rotate-shift (up to 10 degrees, then a shift), or none (default: none, but shift "
        "for --model resnet on mnist and crop-flip on fashion-mnist; never a flip for "
        "digits: a mirrored 2 is not a 2)",
    )
    p.add_argument("--epochs", type=CHECKS["epochs"], default=None)
    p.add_argument("--lr", type=CHECKS["lr"], default=None, help="learning rate")
    p.add_argument("--batch-size", type=CHECKS["batch_size"], default=None)
    p.add_argument("--optimizer", choices=CHOICES["optimizer"], default=None)
    p.add_argument(
        "--momentum",
        type=CHECKS["momentum"],
        default=None,
        help="SGD momentum, in [0, 1) (SGD only: Adam ignores it)",
    )
    p.add_argument("--weight-decay", type=CHECKS["weight_decay"], default=None)
    p.add_argument(
        "--schedule",
        choices=CHOICES["schedule"],
        default=None,
        help="learning-rate schedule, stepped after each epoch: step = StepLR "
        "(x gamma every --step-size epochs), cosine = CosineAnnealingLR to "
        "--eta-min over all epochs (default: none for lines, cosine for mnist and "
        "fashion-mnist)",
    )
    p.add_argument(
        "--step-size",
        type=CHECKS["step_size"],
        default=None,
        help="epochs between StepLR's decays (default: a third of the epochs)",
    )
    p.add_argument(
        "--gamma", type=CHECKS["gamma"], default=None, help="StepLR's decay factor (default 0.1)"
    )
    p.add_argument(
        "--eta-min",
        type=CHECKS["eta_min"],
        default=None,
        help="CosineAnnealingLR's final learning rate (default 0)",
    )
    p.add_argument(
        "--noise",
        type=CHECKS["noise"],
        default=None,
        help="noise std of the lines dataset (default 0.05)",
    )
    p.add_argument(
        "--seed",
        type=CHECKS["seed"],
        default=None,
        help="seed for data, init and shuffling, 0 to 2**32-1 (default 0)",
    )
    p.add_argument(
        "--workers",
        type=CHECKS["workers"],
        default=None,
        metavar="N",
        help="train on N CPU cores: each batch is split into N slices, one per "
        "process (DataParallel; a model with BatchNorm gets N BLAS threads "
        "instead).  Default: one process, NumPy's BLAS picks its thread count",
    )
    p.add_argument(
        "--out",
        type=CHECKS["out"],
        default=None,
        metavar="DIR",
        help="run folder (default: runs/<dataset>-<model>-<timestamp>/); one that "
        "holds a run already is refused unless --overwrite",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="let --out replace the run already in that folder"
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run from RUN_DIR/checkpoint.npz with its saved "
        "settings (other flags are ignored, except --epochs: the new total)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (shown on a terminal) and no progress lines (every 30 s "
        "within an epoch where the output is not a terminal)",
    )
    p.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="skip the pictures and report.html made after training",
    )
    p.add_argument(
        "--monitor",
        action="store_true",
        help="record activation and gradient statistics and update ratios every 50 "
        "steps, and the first layer's filters every epoch, into monitor.json "
        "(report.html shows them; see docs/when-training-goes-wrong.md)",
    )
    adversarial.add_arguments(p)
    live.add_arguments(p)
    add_layers_from_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    for line in notes(settings, args):
        print(line)
    checkpoint = read_checkpoint(settings.resume) if settings.resume is not None else None
    data = load_data(settings.data_source())
    print(data.summary)
    for line in batch_note(settings.batch_size, len(data.train[0])):
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
    if status == 0:  # "not a digit": fitted on the training images, in both models
        store_novelty(run_dir, data.train, settings.seed)
    if status == 0 and settings.report and settings.augment != "none":  # the report shows it
        save_augmented(run_dir, data.train[0], augmentation(settings.augment, data.image_shape[-1]))
    if status == 0 and settings.report:
        status = draw_report(run_dir, training, data)
    return live.finish(page, status, training, model_card(settings, data), run_dir)


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


def start_model(settings: TrainSettings, data: Data) -> Training:
    """A fresh model, optimizer and schedule; a net that does not fit the images is a usage
    error (e.g. --blocks 4 on 28x28 images)."""
    try:
        return start_fresh(settings, data)
    except ValueError as err:
        raise UsageError(str(err)) from err


def start_run(run_dir: Path, settings: TrainSettings, data: Data, training: Training) -> EpochSaver:
    """Write config.json (and a new run's epoch-0 checkpoint, so Ctrl-C in the first epoch
    can be resumed); print what is about to happen."""
    config = {**settings.saved(), "normalize": data.normalize}
    with writing(f"write {run_dir / 'config.json'}"):
        save_config(run_dir, config)
    saver = EpochSaver(run_dir, training, model_card(settings, data), settings.epochs)
    done = len(training.history)
    if settings.resume is None:
        with writing(f"write the first checkpoint into {run_dir}"):
            saver.save(training.history)
    else:
        step = training.progress.step  # > 0: an epoch was interrupted after that batch
        steps = math.ceil(len(data.train[0]) / settings.batch_size)
        print(
            f"Resuming {run_dir} at batch {step + 1} of {steps} in epoch {done + 1} of "
            f"{settings.epochs}"
            if step
            else f"Resuming {run_dir} after epoch {done} of {settings.epochs}"
        )
        if done >= settings.epochs:
            print(
                f"Nothing to do: all {settings.epochs} epochs are done; to train on, pass "
                f"--epochs N with N > {done}"
            )
    schedule = "" if settings.schedule == "none" else f" schedule={settings.schedule}"
    workers = "" if settings.workers is None else f" workers={settings.workers}"
    print(
        f"Model: {settings.model} | optimizer={settings.optimizer} lr={settings.lr} "
        f"batch_size={settings.batch_size} epochs={settings.epochs}{schedule}{workers} | "
        f"run folder: {run_dir}"
    )
    return saver


def draw_report(run_dir: Path, training: Training, data: Data) -> int:
    """The pictures and report.html, after training so they never slow the loop."""
    try:
        with writing(
            f"write the report into {run_dir}",
            f"the trained run is saved; draw it later with: cnn-numpy report {run_dir}",
        ):
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
