"""State dicts: a model's parameters and buffers by PyTorch's names, checked before loading.

``Layer.state_dict()`` and ``Layer.load_state_dict()`` (layers/base.py) use these; the model
files of tools/saving check their arrays with ``checked_state`` too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def incompatible_keys(state: dict, expected: dict) -> IncompatibleKeys:
    return IncompatibleKeys(
        [k for k in expected if k not in state], [k for k in state if k not in expected]
    )


def as_array_or_none(value) -> np.ndarray | None:
    """``value`` as an ndarray if it is array-like (NumPy's, a list, a number, or anything
    with ``__array__``, such as a CPU ``torch.Tensor`` from ``torch_model.state_dict()``);
    None otherwise."""
    arraylike = isinstance(value, (np.ndarray, list, tuple, int, float, np.generic))
    if not arraylike and not hasattr(value, "__array__"):
        return None
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError):  # e.g. a tensor that requires grad
        return None


#: why a torch tensor may not turn into an array, and what to pass instead
GRAD_HINT = (
    " that requires grad (as torch_model.named_parameters() gives), which NumPy cannot read: "
    "pass torch_model.state_dict(), whose tensors are detached, or tensor.detach()"
)


def checked_state(
    state: dict, expected: dict[str, np.ndarray], cast: bool, strict: bool = True
) -> dict[str, np.ndarray]:
    """``state``'s arrays, checked against ``expected`` (a ``state_dict()``): the same keys
    (``strict``; else only the keys both have are checked and returned) and shapes, real
    numbers, and the same dtypes (``cast=False``) or cast to them (``cast=True``).
    Raises ValueError naming the first problem."""
    if not isinstance(state, dict):
        raise ValueError(f"a state dict must be a dict of arrays, got {type(state).__name__}")
    missing, unexpected = incompatible_keys(state, expected)
    if strict and (missing or unexpected):
        raise ValueError(
            f"keys do not match the model: missing {missing}, unexpected "
            f"{unexpected} (missing keys are the model's, named as in PyTorch; "
            "strict=False loads the keys both have)"
        )
    arrays = {}
    for key, want in expected.items():
        if key not in state:
            continue  # missing, and not strict
        value = state[key]
        got = as_array_or_none(value)
        if got is None or got.dtype.kind not in "biuf":
            raise ValueError(
                f"{key!r} must be an array of real numbers, got "
                f"{type(value).__name__}"
                + (f" of dtype {got.dtype}" if got is not None else "")
                + (GRAD_HINT if got is None and hasattr(value, "detach") else "")
            )
        if got.shape != want.shape or (not cast and got.dtype != want.dtype):
            raise ValueError(
                f"{key!r} has shape {got.shape} and dtype {got.dtype}; the model "
                f"needs shape {want.shape}" + ("" if cast else f" and dtype {want.dtype}")
            )
        arrays[key] = got.astype(want.dtype, copy=False)
    return arrays


def counts_kept(state: dict, expected: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """BatchNorm's ``num_batches_tracked`` that ``state`` lacks, at the model's own value.

    PyTorch does the same for a state dict without its version record (a checkpoint older than
    the counter, or a dict rebuilt key by key): the counter only matters with momentum=None,
    and a state dict from such code has every other key."""
    return {
        key: value
        for key, value in expected.items()
        if key.rpartition(".")[2] == "num_batches_tracked" and key not in state
    }


def load_state(layer, state: dict, strict: bool) -> IncompatibleKeys:
    """``layer.load_state_dict(state, strict)``: check everything, then copy (see Layer)."""
    if not isinstance(strict, bool):
        raise ValueError(f"load_state_dict: strict must be True or False, got {strict!r}")
    expected = layer.state_dict()
    if isinstance(state, dict):
        state = {**counts_kept(state, expected), **state}
    arrays = checked_state(state, expected, cast=True, strict=strict)
    for name, array in layer.named_state():
        if name in arrays:
            array[...] = arrays[name]
    return incompatible_keys(state, expected)
