"""Argument checks shared by the layers, optimizers, schedulers and the training loop.

Each returns the value in a clean form or raises ValueError naming who complains, the
argument, what it got and what it accepts, e.g.
``Conv2d: in_channels must be a whole number >= 1, got 1.5``.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np


def whole(value, name: str, owner: str, low: int = 0, high: int | None = None) -> int:
    """An int (bools and floats refused, even 2.0) in [low, high]."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and value >= low and (high is None or value <= high):
        return int(value)
    bounds = f">= {low}" if high is None else f"from {low} to {high}"
    raise ValueError(f"{owner}: {name} must be a whole number {bounds}, got {value!r}")


def real(
    value,
    name: str,
    owner: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (bools refused) in the interval from low to high (``*_open``:
    that end excluded)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        value = float(value)
        ok = (low is None or (value > low if low_open else value >= low)) and (
            high is None or (value < high if high_open else value <= high)
        )
    if ok:
        return value
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high:g}")
    what = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
    raise ValueError(f"{owner}: {name} must be {what}, got {value!r}")


def flag(value, name: str, owner: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")


def float_dtype(dtype, owner: str) -> np.dtype:
    """float32 or float64: the dtypes the layers compute in."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:  # e.g. torch.float32: NumPy does not know it
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(
            f"{owner}: dtype must be float32 or float64 (NumPy's, e.g. np.float32), got {dtype!r}"
        )
    return resolved


def real_array(x, name: str, owner: str, finite: bool = True) -> np.ndarray:
    """``x`` as an ndarray of real numbers (bool, int or float), all finite if asked.

    Complex numbers, strings, objects and NaN/inf are refused with a message naming ``name``:
    they would otherwise be cast silently (losing the imaginary part) or train to nonsense.
    """
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{owner}: {name} must be an array of real numbers ({err})") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{owner}: {name} must hold real numbers, got dtype {array.dtype}"
            + (" (complex: take .real or abs() first)" if array.dtype.kind == "c" else "")
        )
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"{owner}: {name} holds NaN or infinite values (the first at index "
            f"{tuple(int(i) for i in bad)}: {array[tuple(bad)]}); clean or "
            "impute the data first"
        )
    return array


#: PyTorch arguments the layers take only at PyTorch's default: name -> (default, what to do
#: here instead).  Anything else is refused by ``torch_defaults`` with this advice.
TORCH_ONLY = {
    "dilation": (1, "a kernel dilated by d is a larger kernel with zeros between its taps"),
    "groups": (1, "use one Conv2d per group, on its slice of the channels, and concatenate"),
    "padding_mode": ("zeros", "pad the input yourself, np.pad(x, ..., mode=...), and padding=0"),
    "ceil_mode": (False, "pad the input so the windows fit, or choose a size they divide"),
    "return_indices": (False, "the indices are kept inside, as the layer's argmax"),
    "count_include_pad": (True, "every window here divides by kernel_h * kernel_w"),
    "divisor_override": (None, "scale the output yourself"),
    "last_epoch": (-1, "to resume, call scheduler.load_state_dict(saved) on a new one"),
    "start_dim": (1, "reshape the array yourself (x.reshape(...))"),
    "end_dim": (-1, "reshape the array yourself (x.reshape(...))"),
    "bias": (True, "affine=False drops both weight and bias; a weight alone is not implemented"),
}


def torch_defaults(owner: str, **given) -> None:
    """Refuse a PyTorch argument this library takes only at PyTorch's default value (see
    ``TORCH_ONLY``), saying what to do here: not a TypeError, nor a silently other result."""
    for name, value in given.items():
        default, instead = TORCH_ONLY[name]
        same = isinstance(value, bool) == isinstance(default, bool) and (
            value == default or (type(default) is int and value in [(default,) * 2, [default] * 2])
        )
        if not same:
            raise ValueError(
                f"{owner}: {name}={value!r} is not implemented here (only PyTorch's "
                f"default, {name}={default!r}): {instead}"
            )


def cpu_device(device, owner: str) -> None:
    """PyTorch's ``device`` argument: None or the CPU (``"cpu"``, ``torch.device("cpu")``),
    where NumPy computes; anything else (``"cuda"``) is refused, saying so."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(
            f"{owner}: device={device!r} is not available here: cnn-numpy computes with NumPy "
            "on the CPU; leave device out (or pass 'cpu')"
        )


def state_mapping(state, owner: str) -> dict:
    """An optimizer's or scheduler's saved state: the dict its own ``state_dict()`` returned."""
    if not isinstance(state, dict):
        raise ValueError(
            f"{owner}: load_state_dict needs the dict that state_dict() returned, got "
            f"{type(state).__name__}"
        )
    if "param_groups" in state or "_last_lr" in state:
        raise ValueError(
            f"{owner}: this is a PyTorch state dict (keys {sorted(state)[:4]}); load the "
            "state_dict() of this library's optimizer or scheduler (their layouts differ)"
        )
    return state


def path_or_none(value, name: str, owner: str):
    """A folder or file argument: a str, an ``os.PathLike`` (``pathlib.Path``) or None."""
    if value is None or isinstance(value, (str, os.PathLike)):
        return value
    raise ValueError(f"{owner}: {name} must be a path (str or pathlib.Path) or None, got {value!r}")


# fit's old keywords, each with what replaced it (the tools reach fit through callbacks)
REPLACED = {
    "verbose": "verbose=False is callbacks=[] (the default prints each epoch's line)",
    "progress": "progress=True is callbacks=[PrintEpoch(), ProgressBar()] "
    "(from cnn_numpy.tools.progress import ProgressBar)",
    "monitor": "monitor=m is callbacks=[PrintEpoch(), m]",
    "on_epoch_end": "on_epoch_end=f is a Callback whose on_epoch_end(epoch, history) calls f",
    "on_batch_end": "on_batch_end=f is a Callback whose on_batch_end(epoch, step, loss) calls f",
    "keep_freed_memory": "keep_freed_memory=True is cnn_numpy.keep_freed_memory() before fit "
    "(a setting of the whole process)",
}


def removed_keywords(removed: dict) -> str:
    """fit's old keywords, each with what replaced it (the tools reach fit through callbacks)."""
    lines = [REPLACED.get(k, f"{k!r} is not an argument of fit") for k in removed]
    return "fit() got " + ", ".join(map(repr, removed)) + ": " + "; ".join(lines)
