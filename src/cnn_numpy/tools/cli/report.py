"""``cnn-numpy report RUN_DIR``: redraw a saved run's pictures and report.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...train import History
from ..saving.checkpoint import CHECKPOINT
from ..saving.run_folder import load_history
from ..visualize.report import write_report
from .common import CliError, UsageError, load_model, writing
from .dataset import DataSource, load_data
from .saved_settings import read_config


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="redraw a run folder's pictures and report.html",
        description="Regenerate curves.png, filters.png, feature_maps.png, confusion_matrix.png, "
        "mistakes.png and report.html in a run folder made by `cnn-numpy train`. "
        "The curves come from history.json; the other pictures need the trained "
        "model (model.npz) and reload the test data the run's config.json names.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder, e.g. runs/lines-seed-...")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    check_run_folder(run_dir)
    config = read_config(run_dir / "config.json") if (run_dir / "config.json").is_file() else {}
    history = read_history(run_dir)
    model = load_run_model(run_dir)
    test, classes = load_test_data(config) if model is not None and config else (None, None)
    with writing(f"write the report into {run_dir}"):
        page = write_report(run_dir, model, test, classes, history)
    pictures = sorted(p.name for p in run_dir.glob("*.png"))
    print(f"Report: {page} ({', '.join(pictures) or 'no pictures'})")
    return 0


def check_run_folder(run_dir: Path) -> None:
    """A run folder with at least one finished epoch, or an error saying what it is."""
    if not run_dir.is_dir():
        raise UsageError(f"no run folder at {run_dir}")
    if (run_dir / "history.json").is_file():
        return
    if (run_dir / CHECKPOINT).is_file():
        raise CliError(
            f"{run_dir} has no finished epoch yet (the run was stopped during its "
            f"first epoch), so there is nothing to draw. Continue it with: "
            f"cnn-numpy train --resume {run_dir}"
        )
    raise UsageError(
        f"{run_dir} has no history.json; is it a run folder made by `cnn-numpy train`?"
    )


def read_history(run_dir: Path) -> History:
    """The run's history.json (``History.from_dict`` checks it); a damaged one is an error
    naming it."""
    path = run_dir / "history.json"
    try:
        history = load_history(run_dir)
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from err
    except (ValueError, KeyError, TypeError) as err:  # not JSON, or not a History
        raise CliError(f"{path} is damaged: {err}") from err
    if len(history) == 0:
        raise CliError(f"{run_dir} has no finished epoch yet, so there is nothing to draw")
    return history


def load_run_model(run_dir: Path):
    """The run's model.npz, or None (with a note) when there is none."""
    path = run_dir / "model.npz"
    if not path.is_file():
        print(f"note: no model.npz in {run_dir}; drawing the curves only")
        return None
    return load_model(str(path))[0]


def load_test_data(config: dict):
    """The run's test split and class names, reloaded as `cnn-numpy train` made them (the
    same dataset, seed and noise, normalised with the run's numbers; never downloaded), or
    (None, None) with a note if that fails."""
    try:
        source = DataSource.from_settings(config, where="config.json")
        data = load_data(
            source, splits=("test",), normalization=config.get("normalize"), download=False
        )
    except (OSError, ValueError, RuntimeError, CliError) as err:
        print(
            f"note: could not reload the {config.get('dataset')} test data ({err}); "
            "skipping the pictures that need it"
        )
        return None, None
    return data.test, data.classes
