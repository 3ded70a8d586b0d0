"""Answers that lost digits: float32 (or integers) returned for float64 arguments.  The
grader's cases are float64; a float32 answer keeps about 6 of its 15 digits, and numerical
gradients of a float32 forward are rounding noise."""

from __future__ import annotations

import numpy as np


def lost_digits(dtype: np.dtype) -> bool:
    """Whether an answer of ``dtype`` to float64 arguments has lost digits: a float of fewer
    than 8 bytes, or integers (every fraction gone; a bool answer is a mask, wrong anyway)."""
    return dtype.kind in "iu" or (dtype.kind == "f" and dtype.itemsize < 8)


def precision_message(names: list[str], dtype: np.dtype, label: str) -> tuple[str, str]:
    """``(message, mistake)`` for answers ``names`` of ``dtype`` to float64 arguments."""
    listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    named = f"{listed} {'are' if len(names) > 1 else 'is'} {dtype}"
    if dtype.kind == "f":
        kept = f"{dtype} keeps about {np.finfo(dtype).precision} of float64's 15 digits"
    else:  # np.zeros(shape, dtype=int), an int array's zeros_like, .astype(int)
        kept = f"{dtype} drops every fraction (np.zeros_like of an int array does too)"
    message = (
        f"{named}, but the arguments are float64 (on {label}): keep their dtype "
        f"(np.zeros(shape, dtype=x.dtype), no .astype(np.{dtype})); {kept}"
    )
    return message, f"{dtype} result"
