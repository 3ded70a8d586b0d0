"""The run folder every ``cnn-numpy train`` leaves behind, and atomic file writes.

runs/<dataset>-<model>-<timestamp>/
    config.json     every setting, the seed, library versions
    history.json    per-epoch loss, train/test accuracy, seconds
    history.csv     the same as a table
    model.npz       the latest model (``cnn_numpy.load``, ``cnn-numpy evaluate/predict``)
    best.npz        the model of the epoch with the best test accuracy
    checkpoint.npz  model + optimizer + random states, for ``train --resume`` (checkpoint.py)
    monitor.json    with ``train --monitor``: statistics while training (doctor/monitor.py)
    report.html     the report and its pictures (``RUN_PICTURES``: visualize/report.py)
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ...data.atomic import atomic_write_text
from ...train import History

#: what a run writes into its folder (the pictures are ``RUN_PICTURES``): ``--overwrite``
#: removes these and nothing else, so a file a run writes must be named here
RUN_FILES = (
    "config.json",
    "history.json",
    "history.csv",
    "model.npz",
    "best.npz",
    "checkpoint.npz",
    "report.html",
    "monitor.json",
    "note.txt",
)
RUN_PICTURES = (
    "curves.png",
    "filters.png",
    "filters_layer*.png",
    "feature_maps.png",
    "confusion_matrix.png",
    "mistakes.png",
    "mistakes_saliency.png",
    "augmentation.png",
    "monitor*.png",
    "filters_epochs.gif",
)


def make_run_dir(
    dataset: str, model: str, out: str | os.PathLike | None = None, root: str | os.PathLike = "runs"
) -> Path:
    """``out`` if given, else ``runs/<dataset>-<model>-<YYYYmmdd-HHMMSS>`` (made unique)."""
    if out is not None:
        path = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(root) / f"{dataset}-{model}-{stamp}"
        k = 1
        while path.exists():
            k += 1
            path = Path(root) / f"{dataset}-{model}-{stamp}-{k}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_files(run_dir: str | os.PathLike) -> list[Path]:
    """The files a run wrote that are in ``run_dir`` (none if it is not a folder)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    files = [run_dir / name for name in RUN_FILES if (run_dir / name).is_file()]
    return files + sorted(p for pattern in RUN_PICTURES for p in run_dir.glob(pattern))


def remove_run(run_dir: str | os.PathLike, up_to: str | os.PathLike | None = None) -> None:
    """Delete the run's files from ``run_dir`` (nothing else), then the folder and its
    parents up to ``up_to`` (the first folder this run created) if that leaves them empty."""
    run_dir = Path(run_dir)
    for path in run_files(run_dir):
        path.unlink(missing_ok=True)
    if up_to is None:
        return
    up_to = Path(up_to)
    for folder in (run_dir, *run_dir.parents):
        try:
            folder.rmdir()  # only if empty
        except OSError:
            return
        if folder == up_to:
            return


def set_aside_run(run_dir: str | os.PathLike) -> Path:
    """Move the run's files in ``run_dir`` into a new hidden folder inside it
    (``.replaced-*``): ``train --overwrite`` keeps the old run there until the new one has
    saved an epoch, and puts it back (``put_back_run``) if the new one fails before."""
    run_dir = Path(run_dir)
    aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=run_dir))
    try:
        for path in run_files(run_dir):
            path.rename(aside / path.name)
    except OSError:
        put_back_run(aside, run_dir)
        raise
    return aside


def put_back_run(aside: Path, run_dir: str | os.PathLike) -> None:
    """Undo ``set_aside_run``: the old run's files back in ``run_dir``, ``aside`` gone."""
    for path in aside.iterdir():
        path.rename(Path(run_dir) / path.name)
    aside.rmdir()


def versions() -> dict[str, str]:
    from ... import __version__

    return {"cnn_numpy": __version__, "numpy": np.__version__, "python": platform.python_version()}


def save_config(run_dir: Path, settings: dict) -> None:
    atomic_write_text(
        run_dir / "config.json", json.dumps({**settings, "versions": versions()}, indent=2) + "\n"
    )


def save_history(run_dir: Path, history: History) -> None:
    """Write history.json and history.csv (atomically)."""
    d = history.as_dict()
    atomic_write_text(run_dir / "history.json", json.dumps(d, indent=2) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(d))
    for row in zip(*d.values()):
        writer.writerow(["" if v is None else v for v in row])
    atomic_write_text(run_dir / "history.csv", buf.getvalue())


def load_history(run_dir: str | os.PathLike) -> History:
    return History.from_dict(json.loads((Path(run_dir) / "history.json").read_text()))
