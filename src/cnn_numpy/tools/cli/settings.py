"""``cnn-numpy train``'s settings: what each flag accepts, the per-dataset defaults, and the
settings of a run being resumed (its config.json, checked like the flags themselves).

Every range lives in ``CHECKS``: the flag uses it at parse time, and a resumed run's
config.json is checked against the same table, so a damaged file is an error naming it.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ...presets import MODELS
from ..saving.checkpoint import CHECKPOINT
from .common import CliError, float_in, int_in, normalization, output_folder, seed
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
}
#: the settings that take one of a few words
CHOICES = {
    "dataset": DATASET_NAMES,
    "model": tuple(sorted(MODELS)),
    "optimizer": ("sgd", "adam"),
    "schedule": ("none", "step", "cosine"),
}

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
}

#: defaults of a (model, dataset) pair, over the dataset's: the deep preset trains longer,
#: with a cosine schedule (measured: 99.47% on MNIST, 93.24% on Fashion-MNIST)
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
    # both cores when the machine has them: each batch split over 2 processes (DataParallel)
    ("lenet", "mnist"): dict(workers=2 if (os.cpu_count() or 1) >= 2 else None),
}

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
)

#: flags that shape only some runs: setting -> (does it apply to this run?, why not)
APPLIES = {
    "momentum": (
        lambda s: s.optimizer == "sgd",
        "momentum is SGD's; Adam keeps its own running averages of the gradient",
    ),
    "filters": (lambda s: s.model == "seed", "it shapes the seed net only"),
    "blocks": (lambda s: s.model == "seed", "it shapes the seed net only"),
    "noise": (lambda s: s.dataset == "lines", "it is the noise of the synthetic lines"),
    "data_dir": (lambda s: s.dataset != "lines", "the lines are drawn, not read from files"),
    "step_size": (lambda s: s.schedule == "step", "it applies to --schedule step"),
    "gamma": (lambda s: s.schedule == "step", "it applies to --schedule step"),
    "eta_min": (lambda s: s.schedule == "cosine", "it applies to --schedule cosine"),
}


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
            **MODEL_DEFAULTS.get((model, dataset), {}),
            **given,
            "dataset": dataset,
            "model": model,
        }
    )
    running = {k: getattr(args, k) for k in RUNNING if getattr(args, k, None) is not None}
    return TrainSettings(**values, **running)


def read_config(path: Path) -> dict:
    """A run's config.json, every setting in it (and ``normalize``) checked; a damaged file
    is a ``CliError`` naming it.  Keys this version does not know are left out."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CliError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from err
    if not isinstance(config, dict):
        raise CliError(
            f"{path} is damaged: it holds a {type(config).__name__}, not the settings of a run"
        )
    settings = {key: checked(key, config[key], path) for key in SAVED if key in config}
    if "normalize" in config:
        settings["normalize"] = normalization(config, str(path))
    return settings


def checked(key: str, value, path: Path):
    """``value`` if the flag ``--key`` would accept it, else a ``CliError`` naming ``path``."""
    problem = None
    if value is None:
        return value
    if key in CHOICES:
        if value not in CHOICES[key]:
            problem = f"not one of {', '.join(CHOICES[key])}"
    elif key == "data_dir" or key == "out":
        if not isinstance(value, str):
            problem = "not a folder name"
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        problem = "not a number"
    else:
        try:
            CHECKS[key](repr(value))
        except argparse.ArgumentTypeError as err:
            problem = str(err)
    if problem:
        raise CliError(f"{path} is damaged: {key} is {value!r} ({problem})")
    return value


def resume_settings(args: argparse.Namespace) -> TrainSettings:
    """The settings of the run in ``args.resume`` (its config.json); ``--epochs`` may raise
    the total number of epochs, ``--workers`` choose this machine's cores."""
    run_dir = Path(args.resume)
    if not (run_dir / "config.json").is_file() or not (run_dir / CHECKPOINT).is_file():
        raise CliError(
            f"{run_dir} is not a run folder with config.json and {CHECKPOINT} to resume from"
        )
    saved = read_config(run_dir / "config.json")
    if "dataset" not in saved or "epochs" not in saved:
        raise CliError(
            f"{run_dir / 'config.json'} is damaged: it does not name the run's dataset and epochs"
        )
    for key in ("epochs", "workers", "quiet", "report", "monitor"):
        if getattr(args, key, None) is not None:
            saved[key] = getattr(args, key)
    settings = resolve_defaults(argparse.Namespace(**saved))
    settings.out = settings.resume = str(run_dir)
    return settings


def notes(settings: TrainSettings, args: argparse.Namespace) -> list[str]:
    """One line for each flag given that this run does not use."""
    given = [k for k in SAVED if getattr(args, k, None) is not None]
    if settings.resume is not None:
        ignored = [k for k in given if k not in ("epochs", "workers")]
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
    return lines


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")
