"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is a model file (``serialization``) with more inside: the optimizer's arrays
under ``"optimizer/<name>"``, and in the header the optimizer's scalars, the History, the
state of the shuffling ``np.random.Generator`` and of every Generator a layer owns (Dropout's
masks), and the scheduler's state.  Restoring all of it makes the continued run compute the
same numbers, batch for batch, as a run that was never stopped.

The run folder after each epoch (see ``save_epoch``):

    checkpoint.npz   what ``cnn-numpy train --resume RUN_DIR`` needs
    model.npz        the latest model, for ``cnn-numpy evaluate`` / ``predict`` / ``load``
    best.npz         the model of the epoch with the best test accuracy so far
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...epoch_progress import EpochProgress
from ...model import Sequential
from ...train import History
from .model_files import (
    ModelFileError,
    load_with_card,
    model_header,
    open_npz,
    restore_model,
    save,
    write_npz,
)
from .random_states import generator_from_state, generator_states, restore_generators

CHECKPOINT, LAST, BEST = "checkpoint.npz", "model.npz", "best.npz"


def save_checkpoint(
    path: str | os.PathLike,
    model: Sequential,
    optimizer,
    history: History,
    rng: np.random.Generator,
    scheduler=None,
    progress: EpochProgress | None = None,
    **metadata,
) -> Path:
    """Save model, optimizer, History, random states and scheduler to one ``.npz`` (atomic).
    ``progress``: where fit stopped within an epoch (saved if it is past batch 0), so that
    ``--resume`` goes on at the next batch."""
    arrays = model.state_dict()
    scalars = {}
    for key, value in optimizer.state_dict().items():
        if isinstance(value, np.ndarray):
            arrays[f"optimizer/{key}"] = value
        else:
            scalars[key] = value
    header = model_header(model, metadata, kind="checkpoint")
    header["resume"] = {
        "epoch": len(history),
        "history": history.as_dict(),
        "optimizer": {"type": type(optimizer).__name__, "scalars": scalars},
        "rng": rng.bit_generator.state,
        "layer_rngs": generator_states(model),
        "scheduler": scheduler.state_dict() if hasattr(scheduler, "state_dict") else None,
    }
    if progress is not None and progress.step > 0:
        header["resume"]["in_epoch"] = asdict(progress)
    write_npz(path, arrays, header)
    return Path(path)


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` gives back.  ``model`` already has its weights and layer
    random states; call ``restore_optimizer`` on an optimizer built for ``model.parameters()``.
    ``progress``: where an interrupted epoch stopped (pass it to ``fit``), or None when the
    checkpoint was saved at the end of an epoch."""

    model: Sequential
    history: History
    rng: np.random.Generator
    card: dict
    optimizer_type: str
    optimizer_state: dict
    scheduler_state: dict | None
    progress: EpochProgress | None = None

    @property
    def epoch(self) -> int:
        return len(self.history)

    def restore_optimizer(self, optimizer) -> None:
        if type(optimizer).__name__ != self.optimizer_type:
            raise ValueError(
                f"checkpoint was made with {self.optimizer_type}, not {type(optimizer).__name__}"
            )
        optimizer.load_state_dict(self.optimizer_state)

    def restore_scheduler(self, scheduler) -> None:
        if scheduler is not None and self.scheduler_state is not None:
            scheduler.load_state_dict(self.scheduler_state)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; ModelFileError if it is damaged or
    forged (every part of it is checked before use, see ``check_resume``)."""
    header, arrays = open_npz(path)
    if header.get("kind") != "checkpoint" or "resume" not in header:
        raise ModelFileError(f"{path} is a model file, not a training checkpoint")
    model = restore_model(header, arrays, path)
    model.train()
    try:
        resume = check_resume(header["resume"], model)
        restore_generators(model, resume["layer_rngs"])  # Dropout's, wherever it sits
        history = History.from_dict(resume["history"])
        rng = generator_from_state(resume["rng"])
        progress = in_epoch(resume.get("in_epoch"))
    except ValueError as err:
        raise ModelFileError(f"{path}: its training state is damaged: {err}") from None
    optimizer_state = dict(resume["optimizer"]["scalars"])
    prefix = "optimizer/"
    optimizer_state.update({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
    return Checkpoint(
        model=model,
        history=history,
        rng=rng,
        card=header["card"],
        optimizer_type=resume["optimizer"]["type"],
        optimizer_state=optimizer_state,
        scheduler_state=resume["scheduler"],
        progress=progress,
    )


def in_epoch(state) -> EpochProgress | None:
    """The saved ``EpochProgress`` of an interrupted epoch (None if the checkpoint has none);
    ValueError if it is not one."""
    if state is None:
        return None
    fields = {"step": int, "total_loss": float, "correct": int, "seen": int, "shuffle_state": dict}
    if (
        not isinstance(state, dict)
        or set(state) != set(fields)
        or not all(
            isinstance(state[k], kind) and not isinstance(state[k], bool)
            for k, kind in fields.items()
        )
        or not (state["step"] >= 1 and 0 <= state["correct"] <= state["seen"])
        or not np.isfinite(state["total_loss"])
    ):
        raise ValueError(
            f"its in_epoch entry must be {{{', '.join(fields)}}} of an interrupted epoch"
        )
    generator_from_state(state["shuffle_state"])  # a state a Generator takes
    return EpochProgress(**state)


def check_resume(resume, model: Sequential) -> dict:
    """The closed schema of a checkpoint's training state; ValueError naming what is wrong."""
    keys = {"epoch", "history", "optimizer", "rng", "layer_rngs", "scheduler"}
    if not isinstance(resume, dict) or set(resume) - {"in_epoch"} != keys:
        raise ValueError(f"it must hold exactly {sorted(keys)} (and in_epoch, mid-epoch)")
    optimizer = resume["optimizer"]
    scalars = optimizer.get("scalars") if isinstance(optimizer, dict) else None
    if (
        not isinstance(scalars, dict)
        or set(optimizer) != {"type", "scalars"}
        or optimizer["type"] not in ("SGD", "Adam", "AdamW")
        or not all(isinstance(v, (int, float)) for v in scalars.values())
    ):
        raise ValueError(
            "its optimizer entry must be {'type': 'SGD' | 'Adam' | 'AdamW', 'scalars': {name: number}}"
        )
    scheduler = resume["scheduler"]
    if scheduler is not None and not (
        isinstance(scheduler, dict) and set(scheduler) == {"base_lr", "last_epoch"}
    ):
        raise ValueError("its scheduler entry must be None or {'base_lr', 'last_epoch'}")
    if not isinstance(resume["layer_rngs"], dict):
        raise ValueError("its layer_rngs entry must be a dict")  # its keys: restore_generators
    return resume


def best_epoch(history: History) -> int:
    """Index of the epoch with the best test accuracy (train accuracy without test data);
    the earliest one wins a tie."""
    scores = [t if t is not None else a for t, a in zip(history.test_acc, history.train_acc)]
    return int(np.argmax(scores))


def save_epoch(
    run_dir: str | os.PathLike,
    model: Sequential,
    optimizer,
    history: History,
    rng: np.random.Generator,
    scheduler=None,
    total_epochs: int | None = None,
    **card,
) -> None:
    """After an epoch: ``checkpoint.npz``, ``model.npz`` and (if this epoch is the best so
    far) ``best.npz``.  ``card`` goes into each file's model card with the epoch's numbers:
    ``epochs`` (how many the weights were trained), ``total_epochs`` (how many the run was
    set to train, if given) and ``saved_as`` (``"latest"`` or ``"best"``)."""
    run_dir = Path(run_dir)
    with interrupts_deferred():  # Ctrl-C waits until the three files agree with each other
        save_checkpoint(run_dir / CHECKPOINT, model, optimizer, history, rng, scheduler, **card)
        if len(history) == 0:
            return
        numbers = {
            "epochs": len(history),
            "train_acc": history.train_acc[-1],
            "test_acc": history.test_acc[-1],
            "loss": history.loss[-1],
        }
        if total_epochs is not None:
            numbers["total_epochs"] = total_epochs
        save(model, run_dir / LAST, **card, **numbers, saved_as="latest")
        if best_epoch(history) == len(history) - 1:
            save(model, run_dir / BEST, **card, **numbers, saved_as="best")
        elif total_epochs is not None:
            update_total_epochs(run_dir / BEST, total_epochs)


def update_total_epochs(path: Path, total_epochs: int) -> None:
    """Rewrite ``path``'s card with the run's new ``total_epochs`` (a resumed run that trains
    on), so the best model still says "epoch k of N" right; unchanged files are not touched."""
    try:
        model, card = load_with_card(path)
    except (FileNotFoundError, ModelFileError):
        return  # no best model (yet), or not ours to rewrite
    if card.get("total_epochs", total_epochs) != total_epochs:
        kept = {k: v for k, v in card.items() if k not in ("layers", "library_version", "date")}
        save(model, path, **{**kept, "total_epochs": total_epochs})


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt: a save is
    never cut in half.  Outside the main thread signals cannot be caught; nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
