"""A run folder's pictures and its one-page report.

    runs/<dataset>-<model>-<timestamp>/
        curves.png              loss and accuracy per epoch            (from the History)
        monitor*.png            activations, gradients, update ratios  (from monitor.json,
        filters_epochs.gif      the first layer's filters, per epoch    when monitored)
        filters.png             the first conv layer's kernels         (these and the rest
        filters_layer<i>.png    each deeper conv layer's kernels        need the model and
        feature_maps.png        one test image through every stage      the test data)
        confusion_matrix.png    true vs predicted class, counts
        mistakes.png            misclassified test images, most confident first
        report.html             all of the above, the config and the final numbers, in one
                                self-contained page (pictures embedded), readable offline

``write_report`` makes them after training; ``cnn-numpy report RUN_DIR`` again later.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...data.atomic import atomic_write_bytes, atomic_write_text
from ...train import History, predict_proba
from ..saving.run_folder import load_history
from .curves import plot_history
from .inside import conv_layers, plot_feature_maps, plot_filters
from .mistake_saliency import plot_mistake_saliency
from .mistakes import confusion_matrix, plot_confusion_matrix, plot_mistakes
from .monitor_plots import monitor_figures
from .report_page import render_html, section_of, suffix_of, used_settings  # noqa: F401


def _png(fig) -> bytes:
    """Render a Figure to PNG bytes and free it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def make_pictures(
    history: History | None,
    model=None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, bytes]:
    """``{file stem: PNG bytes}`` for every picture the inputs allow: the curves need the
    History; filters need the model; feature maps, confusion matrix and mistakes need the
    model and the test data."""
    pictures = {}
    if history is not None and len(history):
        pictures["curves"] = _png(plot_history(history))
    if model is None:
        return pictures
    convs = conv_layers(model)
    for k, (index, _) in enumerate(convs):
        stem = "filters" if k == 0 else f"filters_layer{index}"
        pictures[stem] = _png(plot_filters(model, layer=index))
    if test is None:
        return pictures
    X, y = test
    proba = predict_proba(model, X)
    pred = proba.argmax(axis=1)
    names = (
        list(class_names) if class_names is not None else [str(k) for k in range(proba.shape[1])]
    )
    if convs:
        label = (
            f"test image 0: true {names[y[0]]}, predicted {names[pred[0]]} "
            f"({proba[0, pred[0]]:.2f})"
        )
        pictures["feature_maps"] = _png(
            plot_feature_maps(model, X[0], title=f"Feature maps of {label}")
        )
    cm = confusion_matrix(y, pred, num_classes=proba.shape[1])
    pictures["confusion_matrix"] = _png(plot_confusion_matrix(cm, names))
    pictures["mistakes"] = _png(plot_mistakes(model, X, y, names, proba=proba))
    pictures["mistakes_saliency"] = _png(plot_mistake_saliency(model, X, y, proba, names))
    return pictures


#: the run's note, when training says it learned nothing (``train``'s printed lines)
NOTE = "note.txt"


def save_note(run_dir: str | os.PathLike, lines: Sequence[str]) -> None:
    """Keep ``train``'s note beside the run for report.html (none: an older one removed, as
    a resumed run that now learned has none)."""
    path = Path(run_dir) / NOTE
    if lines:
        atomic_write_text(path, "\n".join(lines) + "\n")
    else:
        path.unlink(missing_ok=True)


def write_report(
    run_dir: str | os.PathLike,
    model=None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    class_names: Sequence[str] | None = None,
    history: History | None = None,
) -> Path:
    """Write the pictures and ``report.html`` into ``run_dir``; returns the page's path.

    ``history`` defaults to the folder's history.json.  Without ``model`` (and ``test``)
    only the pictures those need are skipped; pictures already in the folder from an
    earlier report are then embedded as they are.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no run folder at {run_dir}")
    if history is None:
        if not (run_dir / "history.json").is_file():
            raise FileNotFoundError(
                f"{run_dir} has no history.json; is it a run folder made by `cnn-numpy train`?"
            )
        history = load_history(run_dir)
    config_path = run_dir / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    pictures = make_pictures(history, model, test, class_names)
    for stem, figure in monitor_figures(run_dir).items():  # if training was monitored
        pictures[stem] = figure if isinstance(figure, bytes) else _png(figure)
    for stem, picture in pictures.items():
        atomic_write_bytes(run_dir / f"{stem}.{suffix_of(stem)}", picture)
    stale = {}
    for path in sorted([*run_dir.glob("*.png"), *run_dir.glob("*.gif")]):
        if path.stem not in pictures and section_of(path.stem) is not None:
            stale[path.stem] = path.read_bytes()
    note_path = run_dir / NOTE
    note = note_path.read_text(encoding="utf-8", errors="replace") if note_path.is_file() else ""
    page = render_html(run_dir.name, config, history, pictures, stale, note)
    atomic_write_text(run_dir / "report.html", page)
    return run_dir / "report.html"
