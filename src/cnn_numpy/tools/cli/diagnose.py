"""``cnn-numpy diagnose``: the doctor's checklist on the setup ``train`` would run.

The same data, model and optimizer flags as ``train`` (copied from its parser, so they cannot
drift apart), resolved with the same defaults; then ``diagnose`` on the training images,
its findings as a table, its pictures and a small page in ``--out``.  Exit status 0 when
every check is ok, 1 when it found problems.
"""

from __future__ import annotations

import argparse

from ...losses import CrossEntropyLoss
from ..doctor import CHECKS as DOCTOR_CHECKS
from ..doctor import diagnose
from ..saving.run_folder import make_run_dir
from ..visualize.diagnosis_page import write_diagnosis
from . import train
from .common import UsageError, check_writable, writing
from .dataset import load_data
from .flag_notes import notes
from .settings import CHECKS, resolve_defaults
from .training import build_model, build_optimizer

#: the flags of ``train`` that shape what is diagnosed: the data, the model, the optimizer
TRAIN_FLAGS = (
    "dataset",
    "data_dir",
    "limit",
    "model",
    "filters",
    "blocks",
    "lr",
    "batch_size",
    "optimizer",
    "momentum",
    "weight_decay",
    "noise",
    "seed",
)


def checks(text: str) -> list[str]:
    """An argparse type: check names separated by commas."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in DOCTOR_CHECKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown check(s) {', '.join(unknown) or repr(text)}; the checks are "
            f"{','.join(DOCTOR_CHECKS)}"
        )
    return names


def train_actions() -> list[argparse.Action]:
    """The actions of ``train``'s parser for ``TRAIN_FLAGS`` (argparse lists a parser's
    arguments only in ``_actions``)."""
    subparsers = argparse.ArgumentParser().add_subparsers()
    train.add_parser(subparsers)
    return [a for a in subparsers.choices["train"]._actions if a.dest in TRAIN_FLAGS]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "diagnose",
        help="find what is wrong with a setup before training it",
        description="Run the checklist on the model, optimizer and data `train` would use "
        f"({', '.join(DOCTOR_CHECKS)}), on copies; print the findings, save their "
        "pictures and a page into --out. Exit status 0 when all is well, 1 when "
        "it found problems. See docs/when-training-goes-wrong.md.",
    )
    for action in train_actions():
        p.add_argument(
            *action.option_strings,
            dest=action.dest,
            type=action.type,
            choices=action.choices,
            default=None,
            metavar=action.metavar,
            help=action.help,
        )
    p.add_argument(
        "--checks",
        type=checks,
        default=None,
        metavar="NAMES",
        help="run only these checks, e.g. --checks lr,gradients (default: all)",
    )
    p.add_argument(
        "--out",
        type=CHECKS["out"],
        default=None,
        metavar="DIR",
        help="folder for the pictures, diagnosis.json and diagnosis.html "
        "(default: runs/diagnose-<dataset>-<model>-<timestamp>/)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = resolve_defaults(args)
    for line in notes(settings, args):
        print(line)
    data = load_data(settings.data_source(), splits=("train",))
    print(data.summary)
    try:
        model = build_model(settings, len(data.classes), data.image_shape)
    except ValueError as err:  # e.g. --blocks 4 on 28x28 images
        raise UsageError(str(err)) from err
    optimizer = build_optimizer(settings, model.parameters())
    check_writable(args.out or "runs")
    print(
        f"Diagnosing: {settings.model} | optimizer={settings.optimizer} lr={settings.lr} "
        f"batch_size={settings.batch_size} | on copies, {len(data.train[0]):,} images"
    )
    found = diagnose(
        model,
        CrossEntropyLoss(),
        data.train,
        optimizer,
        batch_size=settings.batch_size,
        checks=args.checks,
        rng=settings.seed,
    )
    print(found.table())
    with writing(f"write the diagnosis into {args.out or 'runs/'}"):
        out = make_run_dir(f"diagnose-{settings.dataset}", settings.model, args.out)
        title = (
            f"{settings.model} on {settings.dataset}, {settings.optimizer} lr "
            f"{settings.lr}, batch {settings.batch_size}"
        )
        page = write_diagnosis(found, out, title)
    pictures = sorted(p.name for p in out.glob("*.png"))
    print(f"Pictures: {', '.join(pictures) or 'none'}; page: {page}")
    return 0 if found.ok else 1
