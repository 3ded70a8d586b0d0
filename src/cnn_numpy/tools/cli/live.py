"""``cnn-numpy train --live``: the page's training view around a training run.

``cnn-numpy train`` calls four things: ``add_arguments`` (the flags), ``start`` (the server,
once the model exists), ``hooks`` (what ``fit`` calls after each batch and epoch) and
``finish`` (after training: the draw view of the trained model until Ctrl-C; after Stop or
Ctrl-C: the page is told how to resume, and the server stops).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ...train import steps_per_epoch
from ..live import LiveTraining
from ..novelty import load_novelty
from ..saving.checkpoint import LAST
from .serve import add_server_arguments, announce, open_server, serve_until_ctrl_c

HOST = "127.0.0.1"  # a training run's page stays on this computer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--live, --port, --no-browser."""
    parser.add_argument(
        "--live",
        action="store_true",
        help="watch training in your browser: loss, accuracy, learning rate "
        "and first-layer filters as they change, a Stop button; then "
        "draw digits for the trained model (Ctrl-C ends it)",
    )
    add_server_arguments(parser, host=False)


def start(args: argparse.Namespace, training, settings, data) -> LiveTraining | None:
    """The page's server for this run (None without --live), its address printed.
    ``training``, ``settings``, ``data``: the run's (see cli/training.py)."""
    if not getattr(args, "live", False):
        return None
    batches = steps_per_epoch(training.model, len(data.train[0]), settings.batch_size)
    title = f"{settings.dataset}, {settings.model}"
    live = open_server(
        lambda: LiveTraining(
            HOST,
            args.port,
            training.model,
            training.optimizer,
            epochs=settings.epochs,
            batches=batches,
            history=training.history,
            title=title,
        ),
        HOST,
        args.port,
    )
    live.start()
    announce(live.server, "Watch it train", args.browser)
    return live


def callbacks(live: LiveTraining | None, saver) -> list:
    """``fit``'s callbacks for the page: the run's saver first (Stop may come any time, so the
    checkpoint is written before the page hears of the epoch), then, with --live, the page."""
    return [saver] if live is None else [saver, live]


def finish(live: LiveTraining | None, status: int, training, card: dict, run_dir: Path) -> int:
    """After training: ``status`` 0 keeps the page up with the trained model until Ctrl-C;
    anything else (Stop, Ctrl-C, an error) tells the page and stops the server."""
    if live is None:
        return status
    model, history = training.model, training.history
    if status != 0:
        live.stopped(f"cnn-numpy train --resume {run_dir}")
        return status
    if len(history):  # the numbers model.npz's card holds too
        card = {
            **card,
            "epochs": len(history),
            "train_acc": history.train_acc[-1],
            "test_acc": history.test_acc[-1],
            "loss": history.loss[-1],
        }
    live.finished(
        model,
        card,
        name=f"{Path(run_dir).name}/model.npz",
        novelty=load_novelty(Path(run_dir) / LAST),
    )
    print(
        f"Training done. The page stays up with the trained model: try it at "
        f"{live.url}  (Ctrl-C to stop)",
        flush=True,
    )
    serve_until_ctrl_c(live.server, stop=live.close)
    return 0
