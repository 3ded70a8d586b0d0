"""The flags of ``cnn-numpy train``: data, model, optimizer and schedule, the run folder.

(The tools' own flags are added by their modules: ``--adversarial`` in adversarial.py,
``--live`` in live.py, ``--layers-from`` in exercises.py.)
"""

from __future__ import annotations

import argparse

from .settings import CHECKS, CHOICES


def add_arguments(p: argparse.ArgumentParser) -> None:
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
        help="folder with the dataset's IDX files (for cifar10: cifar-10-batches-bin/ or "
        "cifar-10-binary.tar.gz), or its parent (default: $CNN_NUMPY_DATA, else "
        "data/<dataset>/; downloaded there if missing)",
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
        "fashion-mnist, resnet for cifar10)",
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
        help="Conv->ReLU->Pool blocks in the seed net (default 1); basic blocks in the "
        "resnet, one per stage, each halving the image and doubling the channels (default 2, "
        "3 on fashion-mnist)",
    )
    p.add_argument(
        "--augment",
        choices=CHOICES["augment"],
        default=None,
        help="random changes to each training batch: shift (up to 2 pixels), crop-flip (a "
        "random crop of the image padded by 2 pixels, 4 at 32x32, and a left-right mirror), "
        "rotate-shift (up to 10 degrees, then a shift), or none (default: none, but shift "
        "for --model resnet on mnist, crop-flip for it on fashion-mnist and for every model "
        "on cifar10; never a flip for digits: a mirrored 2 is not a 2)",
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
        "--eta-min over all epochs (default: none for lines, cosine for mnist, "
        "fashion-mnist and cifar10)",
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
        help="the lines' noise: each image's std is drawn from 0 to this (default 0.05)",
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
        "process (DataParallel; BatchNorm still normalises with the whole batch's "
        "statistics).  Default: 2 for lenet on MNIST and for the resnet where the machine has "
        "two cores or more, else one process (NumPy's BLAS picks its thread count); one "
        "process with --monitor (whose activations a worker's layers would hide) unless "
        "--workers is given, and always with --adversarial and --layers-from (they refuse "
        "--workers 2 or more)",
    )
    p.add_argument(
        "--novelty-reader",
        choices=CHOICES["novelty_reader"],
        default=None,
        help="what the novelty check (predict's 'not a digit') reads: lenet = a LeNet "
        "trained beside the model for 1 epoch on the same images (about 7 s on MNIST on 2 cores), "
        "for a net too small to tell letters from digits; none = the model's own features. "
        "Default auto: lenet for --model seed on mnist and fashion-mnist, else none",
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
        "settings, --report or --no-report included (other flags are ignored, except "
        "--epochs: the new total, --data-dir: where its data now is, --workers, --quiet, "
        "--monitor and --report/--no-report)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (shown on a terminal) and no progress lines (every 30 s "
        "within an epoch where the output is not a terminal)",
    )
    p.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw the pictures and report.html after training (the default); --no-report "
        "skips them. A resumed run keeps its own choice unless one of these is given",
    )
    p.add_argument(
        "--monitor",
        action="store_true",
        help="record activation and gradient statistics and update ratios every 50 "
        "steps, and the first layer's filters every epoch, into monitor.json "
        "(report.html shows them; see docs/when-training-goes-wrong.md)",
    )
