"""``cnn-numpy train``'s settings: what each flag accepts, the per-dataset defaults, and the
settings of a run being resumed (its config.json, checked like the flags themselves).

Every range lives in ``CHECKS``: the flag uses it at parse time, and a resumed run's
config.json is checked against the same table, so a damaged file is an error naming it.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, fields

from ...presets import MODELS
from ...transforms import AUGMENTATIONS
from .common import float_in, int_in, output_folder, seed
from .dataset import DATASET_NAMES, DataSource

#: the range of every numeric setting (also the flags' argparse types)
CHECKS = {
    "limit": int_in(1, 10_000_000),
    "filters": int_in(1, 512),
    "blocks": int_in(1, 8),
    "epochs": int_in(1, 10_000),
    "lr": float_in(0, 10),
    "batch_size": int_in(1, 100_000),
    "momentum": float_in(0, 1, high_open=True),
    "weight_decay": float_in(0, 1),
    "step_size": int_in(1, 10_000),
    "gamma": float_in(0, 10, low_open=True),
    "eta_min": float_in(0, 10),
    "noise": float_in(0, 10),
    "seed": seed,
    "workers": int_in(1, 128),
    "out": output_folder,
    "adversarial": float_in(0, 1),
    "attack_steps": int_in(1, 1000),
}
#: the settings that take one of a few words
CHOICES = {
    "dataset": DATASET_NAMES,
    "model": tuple(sorted(MODELS)),
    "optimizer": ("sgd", "adam"),
    "schedule": ("none", "step", "cosine"),
    "attack": ("fgsm", "pgd"),
    "augment": ("none", *sorted(AUGMENTATIONS)),
    "novelty_reader": ("auto", "lenet", "none"),
}

#: both cores where the machine has two or more (--workers)
BOTH_CORES = 2 if (os.cpu_count() or 1) >= 2 else None

#: flags that train in one process (as --adversarial) unless --workers is given; --monitor:
#: a DataParallel's layers run in its workers, where the monitor cannot see their activations
ONE_PROCESS = ("layers_from", "monitor")

#: per-dataset defaults for the flags left unset (tuned to reach the README's accuracies)
DEFAULTS = {
    "lines": dict(model="seed", epochs=5, lr=0.01, batch_size=1, optimizer="sgd", momentum=0.0),
    # lenet, 3 epochs, Adam lr 3e-3, cosine: batch 64 on both cores (workers, see
    # MODEL_DEFAULTS) reaches 99.0% in half the wall time of batch 32 on one (2026-12:
    # docs/performance.md); batch 32 gave 99.31 99.25 99.06 99.25% over seeds 0-3
    "mnist": dict(
        model="lenet",
        epochs=3,
        lr=0.003,
        batch_size=64,
        optimizer="adam",
        momentum=0.9,
        schedule="cosine",
    ),
    "fashion-mnist": dict(
        model="lenet",
        epochs=5,
        lr=0.001,
        batch_size=64,
        optimizer="adam",
        momentum=0.9,
        schedule="cosine",
    ),
    # colour photos: the resnet, crop-flip augmented (mirrored objects are the same objects)
    "cifar10": dict(
        model="resnet",
        epochs=10,
        lr=0.003,
        batch_size=64,
        optimizer="adam",
        momentum=0.9,
        schedule="cosine",
        augment="crop-flip",
    ),
}

#: defaults of a (model, dataset) pair, over the dataset's: the deep preset trains longer,
#: with a cosine schedule (measured on the Zen 4: 99.46% on MNIST, 93.23% on Fashion-MNIST)
MODEL_DEFAULTS = {
    ("deep", "mnist"): dict(epochs=6, lr=0.001, batch_size=64, optimizer="adam", schedule="cosine"),
    # Fashion-MNIST, 12 epochs: 93.24% at lr 3e-3 against 92.58% at lr 1e-3
    ("deep", "fashion-mnist"): dict(
        epochs=12, lr=0.003, batch_size=64, optimizer="adam", schedule="cosine"
    ),
    # the seed's one-conv net learns faster with a larger step: 98.0% vs 97.6% at lr 1e-3
    ("seed", "mnist"): dict(lr=0.003, batch_size=64),
    # BatchNorm1d needs more than one image per batch: not the lines' per-sample default
    ("deep", "lines"): dict(batch_size=16),
    # resnet: augmented (flips never for digits).  Measured with benchmarks/accuracy.py on the
    # 2-core Zen 4 (README): MNIST, shift, 2 stages, 8 epochs 99.50% (6 epochs: 99.45%);
    # Fashion-MNIST, crop-flip: 2 stages, 12 epochs 92.21% (underfitting: train accuracy no
    # higher than test), 3 stages 93.20% in 12 epochs and 93.67% in 20 (one process); on both
    # cores (the default since) 99.50% and 93.93%
    ("resnet", "mnist"): dict(
        epochs=8, lr=0.003, batch_size=64, optimizer="adam", schedule="cosine", augment="shift"
    ),
    ("resnet", "fashion-mnist"): dict(
        blocks=3,
        epochs=20,
        lr=0.003,
        batch_size=64,
        optimizer="adam",
        schedule="cosine",
        augment="crop-flip",
    ),
    ("resnet", "lines"): dict(batch_size=16),
    # both cores when the machine has them: each batch split over 2 processes (DataParallel),
    # 128 images a step (64 per process): an epoch took 9.3-10.1 s against 11.2-14.0 s at
    # batch 64, and 3 epochs reached 99.24 99.17 99.03 99.25% over seeds 0-3 (batch 64:
    # 99.10 99.25% over seeds 0-1); docs/performance.md, "The first run"
    ("lenet", "mnist"): dict(batch_size=128, workers=BOTH_CORES),
}

#: defaults of a model on every dataset, under the (model, dataset) pair's: the resnet's two
#: stages (blocks counts the seed net's conv blocks, the resnet's basic blocks), on both cores
#: (DataParallel shares its BatchNorm's statistics across the slices, so it trains the same
#: net: a Fashion-MNIST epoch took 43 s against 74 s in one process; README)
PRESET_DEFAULTS = {"resnet": dict(blocks=2, workers=BOTH_CORES)}

#: datasets whose images mean something else mirrored: a flipped 2 is no 2
NO_FLIPS = ("mnist",)

#: defaults that do not depend on the dataset
BASE_DEFAULTS = dict(
    filters=8,
    blocks=1,
    weight_decay=0.0,
    schedule="none",
    gamma=0.1,
    eta_min=0.0,
    noise=0.05,
    seed=0,
    augment="none",
    novelty_reader="auto",
)

#: the presets whose novelty check reads a LeNet trained beside them (--novelty-reader auto),
#: and on which datasets: the seed net's check refused 80.5% of the photo benchmark's
#: non-digits on MNIST, against the 85% asked (docs/novelty.md); not on the lines, where the
#: extra LeNet would only slow the first run
READER_AUTO = {("seed", "mnist"), ("seed", "fashion-mnist")}


@dataclass
class TrainSettings:
    """Everything a training run needs; the fields up to ``out`` are saved in config.json
    (in this order: the report's table shows them so)."""

    dataset: str
    data_dir: str | None
    limit: int | None
    model: str
    filters: int
    blocks: int
    augment: str
    epochs: int
    lr: float
    batch_size: int
    optimizer: str
    momentum: float
    weight_decay: float
    schedule: str
    step_size: int | None
    gamma: float
    eta_min: float
    noise: float
    seed: int
    workers: int | None
    adversarial: float | None  # eps in pixel units; None: plain training
    attack: str | None  # None: fgsm (with --adversarial)
    attack_steps: int | None  # None: 7 (with --attack pgd)
    novelty_reader: str  # auto, lenet or none: the network the novelty check reads
    out: str | None
    # how this command runs, not saved:
    resume: str | None = None
    quiet: bool = False
    report: bool = True
    overwrite: bool = False
    monitor: bool = False

    def saved(self) -> dict:
        """The settings config.json keeps."""
        return {k: v for k, v in asdict(self).items() if k in SAVED}

    def uses_reader(self) -> bool:
        """Does the novelty check read a LeNet trained beside the model?"""
        if self.novelty_reader == "auto":
            return (self.model, self.dataset) in READER_AUTO
        return self.novelty_reader == "lenet"

    def data_source(self) -> DataSource:
        return DataSource(self.dataset, self.data_dir, self.limit, self.noise, self.seed)


RUNNING = ("resume", "quiet", "report", "overwrite", "monitor")
SAVED = tuple(f.name for f in fields(TrainSettings) if f.name not in RUNNING)


def resolve_defaults(args: argparse.Namespace) -> TrainSettings:
    """The flags given, then the (model, dataset) pair's defaults, the dataset's, and the
    rest.  ``args`` is left as it is."""
    given = {k: v for k, v in vars(args).items() if k in SAVED and v is not None}
    dataset = given.get("dataset", "lines")
    model = given.get("model", DEFAULTS[dataset]["model"])
    values = {key: None for key in SAVED}
    values.update(
        {
            **BASE_DEFAULTS,
            **DEFAULTS[dataset],
            **PRESET_DEFAULTS.get(model, {}),
            **MODEL_DEFAULTS.get((model, dataset), {}),
            **given,
            "dataset": dataset,
            "model": model,
        }
    )
    one_process = values["adversarial"] is not None or any(map(vars(args).get, ONE_PROCESS))
    if one_process and "workers" not in given:  # what these train with: not the default's 2
        values["workers"] = None
    running = {k: getattr(args, k) for k in RUNNING if getattr(args, k, None) is not None}
    return TrainSettings(**values, **running)
