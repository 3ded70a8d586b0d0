"""What ``cnn-numpy train`` trains, and the loop around ``fit``.

``start_fresh`` builds the model, optimizer and schedule from the settings;
``start_from`` restores them from a checkpoint (each built once, on the restored model).
``train_epochs`` runs ``fit`` on the cores asked for, saves the run after every epoch, and
turns Ctrl-C into a stop at the end of the batch under way, saved there ("RUN holds the run
after batch k of S in epoch E ... Continue with: cnn-numpy train --resume RUN", exit 130;
see stopping.py); ``--resume`` goes on at the next batch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...epoch_progress import EpochProgress
from ...losses import CrossEntropyLoss
from ...model import Sequential
from ...optim import SGD, Adam
from ...presets import MODELS
from ...schedulers import CosineAnnealingLR, StepLR
from ...train import Callback, History, TrainingDiverged, fit, steps_per_epoch
from ...transforms import augmentation
from ..doctor.monitor import Monitor
from ..progress import progress_display
from ..saving.checkpoint import CHECKPOINT, Checkpoint, load_checkpoint, save_epoch
from ..saving.run_folder import save_history
from ..speed.memory import keep_freed_memory
from ..speed.parallel import DataParallel, blas_threads
from ..speed.workers import WorkerDied
from .adversarial import fit_parts
from .common import CliError, error_message, writing
from .dataset import Data
from .live import callbacks as live_callbacks
from .settings import TrainSettings
from .stopping import StopAtBatchEnd, save_after_death, save_interrupted, where_it_stopped


@dataclass
class Training:
    """What a run trains, built once: fresh, or restored from a checkpoint."""

    model: Sequential
    optimizer: SGD | Adam
    scheduler: StepLR | CosineAnnealingLR | None
    history: History
    rng: np.random.Generator  # the shuffling's
    progress: EpochProgress = field(default_factory=EpochProgress)  # within the epoch
    loss: CrossEntropyLoss | None = None  # None: the library's (--layers-from: maybe yours)


def build_model(settings: TrainSettings, num_classes: int, image_shape: tuple[int, ...]):
    rng = np.random.default_rng([settings.seed, 3])
    channels, size = image_shape[0], image_shape[1]
    shape = {  # --filters and --blocks shape these two; the others are fixed presets
        "seed": dict(filters=settings.filters, blocks=settings.blocks),
        "resnet": dict(blocks=(1,) * settings.blocks),  # one basic block per stage
    }.get(settings.model, {})
    return MODELS[settings.model](
        num_classes, in_channels=channels, image_size=size, rng=rng, **shape
    )


def build_optimizer(settings: TrainSettings, params):
    if settings.optimizer == "adam":
        return Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
    return SGD(
        params, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
    )


def build_scheduler(settings: TrainSettings, optimizer):
    if settings.schedule == "step":
        step_size = settings.step_size or max(1, settings.epochs // 3)
        return StepLR(optimizer, step_size=step_size, gamma=settings.gamma)
    if settings.schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=settings.epochs, eta_min=settings.eta_min)
    return None


def start_fresh(settings: TrainSettings, data: Data) -> Training:
    model = build_model(settings, len(data.classes), data.image_shape)
    optimizer = build_optimizer(settings, model.parameters())
    return Training(
        model,
        optimizer,
        build_scheduler(settings, optimizer),
        History(),
        np.random.default_rng([settings.seed, 4]),
    )


def read_checkpoint(run_dir: str) -> Checkpoint:
    """The run's checkpoint.npz; a damaged one is an error naming it."""
    path = Path(run_dir) / CHECKPOINT
    try:
        return load_checkpoint(path)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
        message = str(err) if str(path) in str(err) else f"{path} is damaged: {err!r}"
        raise CliError(f"{message}; it cannot be resumed") from err


def start_from(checkpoint: Checkpoint, settings: TrainSettings, data: Data) -> Training:
    """The checkpoint's model, with an optimizer and schedule built for it and restored."""
    path = Path(settings.resume) / CHECKPOINT
    try:
        outputs = checkpoint.model.output_shape((1, *data.image_shape))[-1]
    except ValueError as err:
        raise CliError(
            f"{path} does not take the {settings.dataset} images of its config.json: {err}"
        ) from err
    if outputs != len(data.classes):
        raise CliError(
            f"{path} has {outputs} outputs, but its config.json names "
            f"{settings.dataset} with {len(data.classes)} classes"
        )
    optimizer = build_optimizer(settings, checkpoint.model.parameters())
    scheduler = build_scheduler(settings, optimizer)
    try:
        checkpoint.restore_optimizer(optimizer)
        checkpoint.restore_scheduler(scheduler)
    except (KeyError, TypeError, ValueError) as err:
        raise CliError(
            f"{path} does not match its config.json ({settings.optimizer}, "
            f"schedule {settings.schedule}): {err}"
        ) from err
    progress = checkpoint.progress or EpochProgress()  # an interrupted epoch goes on
    return Training(
        checkpoint.model, optimizer, scheduler, checkpoint.history, checkpoint.rng, progress
    )


def model_card(settings: TrainSettings, data: Data) -> dict:
    """What every saved model of the run says about itself (see ``cnn_numpy.save``)."""
    return dict(
        dataset=settings.dataset,
        class_names=list(data.classes),
        normalize=data.normalize,
        input_shape=list(data.image_shape),
        preset=settings.model,
        seed=settings.seed,
        settings={**settings.saved(), "normalize": data.normalize},
    )


def parallel_model(model, workers: int | None, batch_size: int):
    """What ``fit`` trains: ``DataParallel(model, workers)``, or ``model`` itself when one
    worker was asked for, or none, or a layer keeps statistics over the batch that DataParallel
    cannot share across slices (BatchNorm's it can: see DataParallel).  Both share the weights,
    so ``model`` is what gets saved."""
    if workers is None or workers == 1:
        return model
    try:
        parallel = DataParallel(model, workers)
    except ValueError as err:
        print(
            f"note: its batches are not split ({str(err).split(';')[0]}): --workers {workers}"
            " gives NumPy's matrix products that many threads instead"
        )
        return model
    cores = os.cpu_count() or 1
    if workers > cores:
        print(
            f"note: --workers {workers} is more than this machine's {cores} cores; the "
            "processes will take turns on them, and each step gets slower, not faster"
        )
    if workers > batch_size:
        print(
            f"note: a batch of {batch_size} is cut into at most {batch_size} slice{'s' * (batch_size > 1)}, so "
            f"training uses only {batch_size} of the {workers} processes"
        )
    return parallel


@contextlib.contextmanager
def on_cores(model, workers: int | None, batch_size: int) -> Iterator:
    """``parallel_model`` for the block, its worker processes stopped at the end (a Ctrl-C
    while they stop is a Ctrl-C like any other)."""
    trained = parallel_model(model, workers, batch_size)
    try:
        with blas_threads(workers):  # None: no limit
            yield trained
    finally:
        if isinstance(trained, DataParallel):
            trained.close()


class EpochSaver(Callback):
    """``fit``'s ``on_epoch_end``: the checkpoint, models and history after each epoch."""

    def __init__(self, run_dir: Path, training: Training, card: dict, total_epochs: int):
        self.run_dir, self.training, self.card = run_dir, training, card
        self.total_epochs = total_epochs
        self.saved = len(training.history)  # the epoch the files on disk hold

    def save(self, history: History) -> None:
        t = self.training
        save_epoch(
            self.run_dir,
            t.model,
            t.optimizer,
            history,
            t.rng,
            t.scheduler,
            total_epochs=self.total_epochs,
            **self.card,
        )

    def on_epoch_end(self, epoch: int, history: History) -> None:
        with writing(f"write the files of epoch {epoch} into {self.run_dir}", self.where_now()):
            self.save(history)
            self.saved = epoch
            save_history(self.run_dir, history)

    def on_disk(self) -> int:
        """The epoch the checkpoint on disk holds: a Ctrl-C held back during a save (see
        ``interrupts_deferred``) lands after the files are complete, before ``saved`` moves."""
        try:
            return load_checkpoint(self.run_dir / CHECKPOINT).epoch
        except (OSError, ValueError):
            return self.saved

    def where_now(self) -> str:
        if self.saved == 0:
            return "no epoch was saved"
        return (
            f"{self.run_dir} holds the run after epoch {self.saved}; continue with: "
            f"cnn-numpy train --resume {self.run_dir}"
        )


def train_epochs(
    training: Training,
    settings: TrainSettings,
    data: Data,
    run_dir: Path,
    saver: EpochSaver,
    page=None,
) -> int:
    """Train the epochs left; 0 when done, 130 after Ctrl-C (with how to resume).
    ``page``: the --live page, fed by fit's hooks (see cli/live.py)."""
    monitor = Monitor.for_run(run_dir, len(training.history)) if settings.monitor else None
    stop = StopAtBatchEnd()  # Ctrl-C: stop when the batch ends, saved there
    try:
        keep_freed_memory()  # the command owns its process: no page faults (speed/memory.py)
        with on_cores(training.model, settings.workers, settings.batch_size) as trained:
            trained, loss, epoch_line = fit_parts(
                trained, training.model, training.loss or CrossEntropyLoss(), settings, data
            )
            with stop.installed():
                fit(
                    trained,
                    loss,
                    training.optimizer,
                    data.train,
                    epochs=max(0, settings.epochs - len(training.history)),
                    batch_size=settings.batch_size,
                    test=data.test,
                    rng=training.rng,
                    scheduler=training.scheduler,
                    history=training.history,
                    augment=augmentation(settings.augment, data.image_shape[-1]),
                    callbacks=[
                        epoch_line,
                        *progress_display(settings.quiet),
                        *([monitor] if monitor is not None else []),
                        *live_callbacks(page, saver),
                        stop,
                    ],
                    progress=training.progress,
                )
    except KeyboardInterrupt:
        # stopped at a batch's end by our own Ctrl-C handler: save there; else (a second
        # Ctrl-C, or an interrupt from elsewhere) mid-batch: the last saved epoch stands
        step = training.progress.step if stop.requested and not stop.forced else 0
        if step:
            with writing(f"save the interrupted epoch into {run_dir}", saver.where_now()):
                save_interrupted(run_dir, training, saver.card)
        steps = steps_per_epoch(training.model, len(data.train[0]), settings.batch_size)
        done = len(training.history) if step else saver.on_disk()
        print(
            f"\nInterrupted. {where_it_stopped(run_dir, done, step, steps)}. Continue with:\n"
            f"  cnn-numpy train --resume {run_dir}"
        )
        return 130
    except (OSError, RuntimeError, MemoryError) as err:
        if isinstance(err, WorkerDied) and training.progress.step:  # saved as at a Ctrl-C
            steps = steps_per_epoch(training.model, len(data.train[0]), settings.batch_size)
            return save_after_death(err, run_dir, training, saver.card, steps)
        if saver.saved == 0 or isinstance(err, (TrainingDiverged, BrokenPipeError)):
            raise  # nothing to continue from (or it would only diverge again; or `| head`)
        raise CliError(f"{error_message(err)}\n{saver.where_now()}") from err
    return 0
