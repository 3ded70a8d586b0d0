"""``cnn-numpy report RUN_DIR``: redraw a saved run's pictures and report.html."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..saving.run_folder import load_history
from ..visualize.report import write_report


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="redraw a run folder's pictures and report.html",
        description="Regenerate curves.png, filters.png, feature_maps.png, confusion_matrix.png, "
                    "mistakes.png and report.html in a run folder made by `cnn-numpy train`. "
                    "The curves come from history.json; the other pictures need the trained "
                    "model (model.npz) and reload the test data the run's config.json names.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder, e.g. runs/lines-seed-...")
    p.set_defaults(run=run)


def load_model(run_dir: Path):
    """The run's model.npz, or None (with the reason printed) when there is none."""
    path = run_dir / "model.npz"
    if not path.is_file():
        print(f"note: no model.npz in {run_dir}; drawing the curves only")
        return None
    from ..saving.model_files import load

    return load(path)


def load_test_data(config: dict):
    """The run's test split and class names, reloaded as `cnn-numpy train` made them (the
    same dataset, seed and noise), or (None, None) if that fails."""
    from . import build_parser
    from .train import load_data

    args = build_parser().parse_args(["train"])     # every train flag at its default...
    for key, value in config.items():               # ...then the run's settings
        if hasattr(args, key):
            setattr(args, key, value)
    args.download = False                           # redrawing pictures never downloads
    try:
        _, test, classes = load_data(args)
    except (OSError, ValueError, KeyError, RuntimeError, SystemExit) as err:
        reason = str(err).removeprefix("error: ")
        print(f"note: could not reload the {config.get('dataset')} test data ({reason}); "
              "skipping the pictures that need it")
        return None, None
    return test, classes


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        print(f"error: no run folder at {run_dir}")
        return 2
    if not (run_dir / "history.json").is_file():
        print(f"error: {run_dir} has no history.json; is it a run folder made by "
              "`cnn-numpy train`?")
        return 2
    config_path = run_dir / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    try:
        history = load_history(run_dir)
        model = load_model(run_dir)
    except (ValueError, KeyError, TypeError) as err:
        print(f"error: cannot read the run in {run_dir}: {err}")
        return 1
    test, classes = load_test_data(config) if model is not None and config else (None, None)
    page = write_report(run_dir, model, test, classes, history)
    pictures = sorted(p.name for p in run_dir.glob("*.png"))
    print(f"Report: {page} ({', '.join(pictures) or 'no pictures'})")
    return 0
