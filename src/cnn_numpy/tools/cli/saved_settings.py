"""A run's settings read back from its config.json (``--resume``, ``report``): every value
checked as the flag would check it, since a file is untrusted input."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ...data.datasets import ENV_VAR
from ..saving.checkpoint import CHECKPOINT, Checkpoint
from .common import CliError, UsageError, normalization
from .dataset import holds_files
from .settings import CHECKS, CHOICES, SAVED, TrainSettings, resolve_defaults


def read_config(path: Path) -> dict:
    """A run's config.json, every setting in it (and ``normalize``) checked; a damaged file
    is a ``CliError`` naming it.  Keys this version does not know are left out."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CliError(
            f"{path} is damaged: it is not JSON ({err}). It holds the run's settings, as train "
            "wrote them: put back a good copy (or mend the place named), or train a new run"
        ) from err
    except OSError as err:
        raise CliError(f"cannot read {path}: {err.strerror or err}") from err
    if not isinstance(config, dict):
        raise CliError(
            f"{path} is damaged: it holds a {type(config).__name__}, not the settings of a run"
        )
    settings = {key: checked(key, config[key], path) for key in SAVED if key in config}
    if "normalize" in config:
        settings["normalize"] = normalization(config, str(path))
    if "report" in config:  # --no-report (since 2026-12; before, resumes drew it anyway)
        if not isinstance(config["report"], bool):
            raise CliError(f"{path} is damaged: report is {config['report']!r} (not true or false)")
        settings["report"] = config["report"]
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
    the total number of epochs, ``--workers`` choose this machine's cores, ``--data-dir``
    point it at its data in another folder, ``--report``/``--no-report`` change the run's
    choice (else a run started with --no-report stays without a report)."""
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
    saved["data_dir"] = data_dir(saved["dataset"], saved.get("data_dir"), args)
    settings = resolve_defaults(argparse.Namespace(**saved))
    settings.out = settings.resume = str(run_dir)
    return settings


def data_dir(dataset: str, stored: str | None, args: argparse.Namespace) -> str | None:
    """Where a resumed run finds its data: ``--data-dir`` (the same dataset: its files are
    checked as usual), else the folder in its config.json (absolute since 2026-12; an older
    run's relative one is relative to the current folder, as before), unless that lacks the
    files and ``$CNN_NUMPY_DATA`` is set: then that (None)."""
    if getattr(args, "data_dir", None) is not None:
        return args.data_dir
    env = os.environ.get(ENV_VAR)
    if stored is None or not env or holds_files(dataset, stored, ("train", "test")):
        return stored
    print(
        f"note: the run's data folder {stored} lacks the {dataset} files; looking in "
        f"{ENV_VAR} ({env}) instead"
    )
    return None


def check_epochs(settings: TrainSettings, checkpoint: Checkpoint, given: bool) -> None:
    """A resumed run's total epochs must hold the epochs it has done and the one under way;
    else an error naming them and the least ``--epochs N`` (a ``UsageError`` when ``given``
    on the command line), before config.json is touched."""
    done = len(checkpoint.history)
    step = checkpoint.progress.step if checkpoint.progress is not None else 0
    least = done + 1 if step else done
    if settings.epochs >= least:
        return
    run_dir = Path(settings.resume)
    begun = f"{done} epoch{'s' * (done != 1)} done"
    if step:
        begun += f" and epoch {done + 1} under way (stopped after batch {step})"
    what = (
        f"--epochs {settings.epochs}"
        if given
        else f"{run_dir / 'config.json'} says epochs {settings.epochs}, which"
    )
    ends = "" if step else f" (--epochs {least} ends the run where it is)"
    raise (UsageError if given else CliError)(
        f"{what} is fewer than the epochs of {run_dir}: {begun}; pass --epochs {least} "
        f"or more{ends}"
    )
