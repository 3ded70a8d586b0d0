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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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

CHECKPOINT, LAST, BEST = "checkpoint.npz", "model.npz", "best.npz"


def generator_states(model: Sequential) -> dict[str, dict]:
    """``{"<layer index>.<attribute>": bit_generator.state}`` for every Generator a layer owns."""
    states = {}
    for i, layer in enumerate(model):
        for name, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                states[f"{i}.{name}"] = value.bit_generator.state
    return states


#: the bit generators a stored random state may name: a file never chooses what to call
BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (
        np.random.PCG64,
        np.random.PCG64DXSM,
        np.random.Philox,
        np.random.SFC64,
        np.random.MT19937,
    )
}


def generator_from_state(state) -> np.random.Generator:
    """A Generator continuing exactly from ``bit_generator.state`` (JSON round-tripped).
    ValueError if the state is not one of a known bit generator's, in plain numbers."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ValueError(
            f"a random state must name one of {', '.join(BIT_GENERATORS)}, got {name!r:.100}"
        )
    if not plain_numbers(state):
        raise ValueError(f"a {name} random state must hold plain numbers only")
    bit_generator = BIT_GENERATORS[name]()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise ValueError(f"a {name} random state is malformed ({err})") from None
    return np.random.Generator(bit_generator)


def plain_numbers(value) -> bool:
    """JSON made of dicts, lists, strings and whole numbers only (what a random state is)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_numbers(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_numbers(v) for v in value)
    return (
        isinstance(value, (int, str))
        and not isinstance(value, bool)
        or value is True
        or value is False
    )


def save_checkpoint(
    path: str | os.PathLike,
    model: Sequential,
    optimizer,
    history: History,
    rng: np.random.Generator,
    scheduler=None,
    **metadata,
) -> Path:
    """Save model, optimizer, History, random states and scheduler to one ``.npz`` (atomic)."""
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
    write_npz(path, arrays, header)
    return Path(path)


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` gives back.  ``model`` already has its weights and layer
    random states; call ``restore_optimizer`` on an optimizer built for ``model.parameters()``."""

    model: Sequential
    history: History
    rng: np.random.Generator
    card: dict
    optimizer_type: str
    optimizer_state: dict
    scheduler_state: dict | None

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
        rngs = {key: generator_from_state(state) for key, state in resume["layer_rngs"].items()}
        history = History.from_dict(resume["history"])
        rng = generator_from_state(resume["rng"])
    except ValueError as err:
        raise ModelFileError(f"{path}: its training state is damaged: {err}") from None
    for key, generator in rngs.items():
        index, name = key.split(".", 1)
        setattr(model[int(index)], name, generator)
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
    )


def check_resume(resume, model: Sequential) -> dict:
    """The closed schema of a checkpoint's training state; ValueError naming what is wrong."""
    keys = {"epoch", "history", "optimizer", "rng", "layer_rngs", "scheduler"}
    if not isinstance(resume, dict) or set(resume) != keys:
        raise ValueError(f"it must hold exactly {sorted(keys)}")
    optimizer = resume["optimizer"]
    scalars = optimizer.get("scalars") if isinstance(optimizer, dict) else None
    if (
        not isinstance(scalars, dict)
        or set(optimizer) != {"type", "scalars"}
        or optimizer["type"] not in ("SGD", "Adam")
        or not all(isinstance(v, (int, float)) for v in scalars.values())
    ):
        raise ValueError(
            "its optimizer entry must be {'type': 'SGD' | 'Adam', 'scalars': {name: number}}"
        )
    scheduler = resume["scheduler"]
    if scheduler is not None and not (
        isinstance(scheduler, dict) and set(scheduler) == {"base_lr", "last_epoch"}
    ):
        raise ValueError("its scheduler entry must be None or {'base_lr', 'last_epoch'}")
    if not isinstance(resume["layer_rngs"], dict):
        raise ValueError("its layer_rngs entry must be a dict")
    for key in resume["layer_rngs"]:  # only a layer's existing Generator is replaced
        index, _, name = str(key).partition(".")
        layer = model[int(index)] if index.isdigit() and int(index) < len(model) else None
        if not isinstance(getattr(layer, name, None), np.random.Generator):
            raise ValueError(
                f"its layer_rngs names {key!r:.100}, which is not a random generator of the model"
            )
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
