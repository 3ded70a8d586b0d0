"""Did it learn?  The training curves: loss and accuracy per epoch."""

from __future__ import annotations

import numpy as np

from ...train import History
from .figures import subplots


def _as_history(history) -> History:
    if isinstance(history, History):
        return history
    if isinstance(history, dict):
        return History.from_dict(history)
    raise TypeError(f"plot_history: expected a History or its as_dict(), got {type(history)}")


def plot_history(history: History | dict, title: str | None = None):
    """Loss (left) and accuracy (right) per epoch, train vs test, sharing the epoch axis.

    Args:
        history: what ``fit`` returned, or ``load_history(run_dir)``, or its ``as_dict()``.
        title: figure title (default: the final numbers).
    """
    history = _as_history(history)
    if len(history) == 0:
        raise ValueError("plot_history: the history is empty (no epochs were trained)")
    from matplotlib.ticker import MaxNLocator

    fig, (ax_loss, ax_acc) = subplots(1, 2, figsize=(10, 4), sharex=True)
    epochs = history.epoch
    marker = "o" if len(epochs) <= 30 else None
    train_label, test_label = "train", "test"
    ax_loss.plot(epochs, history.loss, marker=marker, label=train_label)
    test_loss = getattr(history, "test_loss", None)
    if test_loss and any(v is not None for v in test_loss):
        ax_loss.plot(
            epochs, [np.nan if v is None else v for v in test_loss], marker=marker, label=test_label
        )
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_loss.set_ylim(bottom=0)

    ax_acc.plot(epochs, history.train_acc, marker=marker, label=train_label)
    if any(v is not None for v in history.test_acc):
        ax_acc.plot(
            epochs,
            [np.nan if v is None else v for v in history.test_acc],
            marker=marker,
            label=test_label,
        )
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        if len(epochs) <= 12:  # a tick per epoch, and room around a single point
            ax.set_xticks(epochs)
            ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title is None:
        last = history.epoch[-1]
        title = (
            f"After {last} epoch{'s' if last != 1 else ''}: "
            + history.format_epoch().split(" | ", 1)[1]
        )
    fig.suptitle(title)
    fig.text(
        0.5,
        0.01,
        "train: the mean over the epoch's batches, while the weights still "
        "change; test: measured after the epoch (so after epoch 1 it can be higher)",
        ha="center",
        fontsize=8,
        color="0.35",
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig
