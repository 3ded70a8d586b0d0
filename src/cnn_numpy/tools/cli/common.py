"""What every subcommand shares: the one error style, argument types, loading a model file.

Errors: a subcommand raises ``CliError("what is wrong, and what to do")``; ``main`` prints
``error: ...`` on stderr and exits 1 (``UsageError``: 2, as argparse does for a bad flag).
The library's own errors (``ValueError``, ``OSError``, ``MemoryError``...) are caught the
same way by ``main``, so nothing a user can cause ends in a traceback.  ``print_error`` is
the one function that prints an error line; ``main`` and predict's per-image errors use it.

Argument types check a flag where it is given (``int_in(1, 512)``: "must be a whole number
from 1 to 512, got 0"), so a bad value never reaches the library.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..saving.model_files import load_with_card


class CliError(Exception):
    """A problem to report as ``error: <message>`` on stderr, exit status ``code``."""

    code = 1


class UsageError(CliError):
    """The command line asks for something that cannot work (exit status 2, as argparse)."""

    code = 2


def error_message(err: BaseException) -> str:
    """The line to show for ``err``: its message, with the path an OSError names and the
    memory hint a MemoryError needs."""
    message = str(err) or type(err).__name__
    if isinstance(err, MemoryError):
        message = f"not enough memory ({message}); try a smaller batch, model or --limit"
    elif isinstance(err, OSError) and err.filename is not None and str(err.filename) not in message:
        message = f"{err.filename}: {err.strerror or message}"
    return message


def print_error(message: str) -> None:
    """``error: <message>`` on stderr: the only way the CLI shows an error."""
    print(f"error: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def writing(action: str, then: str = "") -> Iterator[None]:
    """Within the block, a failed write (disk full, read-only folder, permission denied)
    becomes ``CliError("cannot <action>: <reason>; <then>")``: ``action`` names the path,
    ``then`` says what is still safe and how to go on."""
    try:
        yield
    except OSError as err:
        reason = err.strerror or str(err)
        if err.filename is not None and str(err.filename) not in action:
            reason = f"{reason} ({err.filename})"
        raise CliError(f"cannot {action}: {reason}" + (f"; {then}" if then else "")) from err


def check_writable(folder: str | os.PathLike) -> None:
    """A ``CliError`` now, not after minutes of work, if nothing can be written in ``folder``
    (or, where it is still to be made, in the nearest folder above it); leaves nothing."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents, Path(".")) if p.exists())
    try:
        handle, name = tempfile.mkstemp(dir=existing)
    except OSError as err:
        raise CliError(f"cannot write into {folder}: {err.strerror or err}") from None
    os.close(handle)
    os.unlink(name)


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be {'a whole number' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def int_in(low: int, high: int | None = None):
    """An argparse type: a whole number in [low, high] (no upper bound if ``high`` is None)."""

    def parse(text: str) -> int:
        value = _number(text, int)
        if value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, got {text}")
        return value

    parse.__name__ = "int"  # argparse names the type in some messages
    return parse


def float_in(
    low: float, high: float | None = None, low_open: bool = False, high_open: bool = False
):
    """An argparse type: a finite number in the interval from ``low`` to ``high``
    (``*_open``: that end excluded; no upper bound if ``high`` is None)."""

    def parse(text: str) -> float:
        value = _number(text, float)
        too_low = value <= low if low_open else value < low
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            left = f"{'>' if low_open else '>='} {low:g}"
            right = "" if high is None else f" and {'<' if high_open else '<='} {high:g}"
            raise argparse.ArgumentTypeError(f"must be a number {left}{right}, got {text}")
        return value

    parse.__name__ = "float"
    return parse


positive_int = int_in(1)
positive_float = float_in(0, low_open=True)
non_negative_float = float_in(0)
probability = float_in(0, 1)
#: what ``np.random.default_rng`` and every ``--seed`` accept
seed = int_in(0, 2**32 - 1)


def _check_parents(path: Path) -> None:
    """The nearest existing folder above ``path`` must be a folder, not a file."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(
                    f"cannot write {path}: {parent} is a file, not a folder"
                )
            return


def output_file(text: str) -> str:
    """An argparse type: a file to write (not a folder, not under a file)."""
    if not text.strip():  # Path("") is ".", the current folder
        raise argparse.ArgumentTypeError("is empty; give a file name, e.g. figure.png")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is a folder; give a file name, e.g. {path / 'figure.png'}"
        )
    _check_parents(path)
    return text


def figure_file(text: str) -> str:
    """An argparse type: a figure to write (as ``output_file``) whose suffix names a format
    matplotlib writes (.png, .jpg, .pdf, .svg, ...; no suffix: PNG)."""
    output_file(text)
    suffix = Path(text).suffix.lower().removeprefix(".")
    if suffix:
        from matplotlib.backend_bases import FigureCanvasBase

        formats = FigureCanvasBase.get_supported_filetypes()
        if suffix not in formats:
            raise argparse.ArgumentTypeError(
                f"cannot draw a figure as .{suffix} ({text}); end the name with one of "
                f"{', '.join('.' + f for f in sorted(formats))}, e.g. {Path(text).stem}.png"
            )
    return text


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file (through a link or another spelling too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the resolved paths
        return Path(a).resolve() == Path(b).resolve()


def refuse_overwriting(outputs, inputs, example: str) -> None:
    """A ``CliError`` before anything is written if one of the files a command would write
    is one of the files it reads (the model, a photo): writing it would destroy the input."""
    for out in outputs:
        for name in inputs:
            if same_file(out, name):
                raise CliError(
                    f"{out} is {name}, a file this command reads; writing it would "
                    f"overwrite it. Choose another name, e.g. {example}"
                )


def output_folder(text: str) -> str:
    """An argparse type: a folder to write into (not a file, not under a file)."""
    if not text.strip():  # Path("") is ".": the run's files would land among yours
        raise argparse.ArgumentTypeError("is empty; give a folder name, e.g. runs/my-run")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    _check_parents(path)
    return text


def load_model(path: str) -> tuple:
    """``(model, card)`` of a model file saved by training or ``cnn_numpy.save``.

    Its errors (no such file; a damaged or foreign file; a card whose class names,
    normalisation or input shape contradict the model) are the library's, naming the file;
    ``main`` reports them."""
    return load_with_card(path)


def normalization(card: dict, path: str) -> dict[str, float]:
    """The ``{"mean", "std"}`` a model's (or a run's) training data was standardised with
    (identity if none is given); a malformed entry is a ``CliError`` naming the file."""
    stats = card.get("normalize")
    if stats is None:
        return {"mean": 0.0, "std": 1.0}
    numbers = isinstance(stats, dict) and all(
        isinstance(stats.get(key), (int, float))
        and not isinstance(stats.get(key), bool)
        and math.isfinite(stats[key])
        for key in ("mean", "std")
    )
    if not numbers or not stats["std"] > 0:
        raise CliError(
            f"{path}: normalize is {stats!r}; expected {{'mean': a number, "
            "'std': a number > 0}, the statistics of the training images"
        )
    return {"mean": float(stats["mean"]), "std": float(stats["std"])}


def class_names(card: dict, outputs: int, path: str) -> list[str]:
    """The card's class names, one per model output ("0", "1", ... if it names none); a list
    that does not match the outputs (a card without input_shape, which ``load`` could not
    check) is a ``CliError`` naming the file."""
    names = card.get("class_names")
    if names is None:
        return [str(k) for k in range(outputs)]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CliError(
            f"{path}: its model card's class_names is {names!r}, not a list of "
            "names (save the model again with class_names=[...])"
        )
    if len(names) != outputs:
        raise CliError(
            f"{path}: the model has {outputs} outputs but its card names "
            f"{len(names)} classes ({', '.join(names[:12])}); save it again with "
            f"one class name per output"
        )
    return names
