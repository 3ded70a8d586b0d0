"""What every subcommand shares: argument types, loading a model file, and the one error style.

Errors: a subcommand raises ``CliError("what is wrong, and what to do")``; ``main`` prints
``error: ...`` on stderr and exits 1 (``UsageError``: 2, as argparse does for a bad flag).
The library's own errors (``ValueError``, ``OSError``, ``MemoryError``...) are caught the
same way by ``main``, so nothing a user can cause ends in a traceback.
"""

from __future__ import annotations

import argparse
import math

from ..saving.model_files import load_with_card


class CliError(Exception):
    """A problem to report as ``error: <message>`` on stderr, exit status ``code``."""

    code = 1


class UsageError(CliError):
    """The command line asks for something that cannot work (exit status 2, as argparse)."""

    code = 2


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be {'a whole number' if kind is int else 'a number'}, got {text!r}") from None
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

    parse.__name__ = "int"          # argparse names the type in some messages
    return parse


def float_in(low: float, high: float | None = None, low_open: bool = False,
             high_open: bool = False):
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


def load_model(path: str):
    """``(model, card)`` of a model file saved by training or ``cnn_numpy.save``.

    Its errors (no such file, a damaged or foreign file) are the library's; ``main``
    reports them."""
    return load_with_card(path)
