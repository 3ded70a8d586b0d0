"""Reading a learner's answer and comparing it with the right one: the structure (a pair, a
tuple of three arrays ...), the shapes, NaN, the largest relative error and where it is."""

from __future__ import annotations

import numpy as np

#: largest relative error that passes (float64 answers agree to ~1e-12)
TOLERANCE = 1e-6


def rel_error(actual: np.ndarray, expected: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """The largest |a - e| / (|a| + |e|) (CS231n's rel_error, elementwise) and its index;
    where one is NaN or inf and the other is not the same, 1 (as for opposite signs)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if expected.size == 0:
        return 0.0, ()
    finite = np.abs(expected[np.isfinite(expected)])
    floor = max(1e-8, 1e-12 * float(finite.max())) if finite.size else 1e-8
    with np.errstate(invalid="ignore"):  # inf - inf, inf / inf: NaN, made 1 below
        err = np.abs(actual - expected) / np.maximum(np.abs(actual) + np.abs(expected), floor)
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    err = np.where(same, 0.0, np.where(np.isnan(err), 1.0, err))
    index = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    return float(err[index] if err.ndim else err), tuple(int(i) for i in index)


def at(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def describe(value) -> str:
    """A tagged plain value (``worker.plain``) in words."""
    kind = value[0]
    if kind == "array":
        return f"an array of shape {value[1].shape} and dtype {value[1].dtype}"
    if kind == "number":
        return f"the number {value[1]:g}"
    if kind == "none":
        return "None (is a return missing?)"
    if kind == "pair":
        return f"a pair whose first item is {describe(value[1])}"
    if kind in ("tuple", "list"):
        return f"a {kind} of {len(value[1])}"
    return f"a {value[1]}"


def as_array(value, name: str, shape: tuple[int, ...]) -> tuple[np.ndarray | None, str | None]:
    """The array a tagged value holds, if it has ``shape``; else (None, what is wrong)."""
    if value[0] == "number" and shape == ():
        return np.array(value[1]), None
    if value[0] != "array":
        problem = f"{name} should be an array of shape {shape}, got {describe(value)}"
        if value[0] == "list" or value[:2] == ("other", "list"):  # .tolist(), or built in a loop
            problem += ": return a NumPy array (np.array(...) turns a list into one)"
        return None, problem
    array = value[1]
    if array.shape != tuple(shape):
        return None, f"{name} has shape {array.shape}, expected {tuple(shape)}"
    return array, None


def unpack(value, names: tuple[str, ...], shapes: dict, function: str) -> tuple[dict, str | None]:
    """The named arrays a function returned: one array, or a tuple/list of ``len(names)``."""
    if len(names) == 1:
        items = [value]  # a list is the array, as a list: as_array says so
        if value[0] in ("tuple", "pair"):
            return {}, f"{function} should return {names[0]} alone, got {describe(value)}"
    elif value[0] in ("tuple", "list") and len(value[1]) == len(names):
        items = value[1]
    else:
        return {}, f"{function} should return ({', '.join(names)}), got {describe(value)}"
    arrays = {}
    for name, item in zip(names, items):
        array, problem = as_array(item, name, shapes[name])
        if problem:
            return {}, problem
        arrays[name] = array
    return arrays, None


def not_finite(arrays: dict) -> str | None:
    for name, array in arrays.items():
        bad = ~np.isfinite(np.asarray(array, np.float64))
        if bad.any():
            index = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.ndim else ()
            word = "NaN" if np.isnan(np.asarray(array, np.float64)[index]) else "inf"
            return f"{at(name, tuple(int(i) for i in index))} is {word}"
    return None


def worst(arrays: dict, expected: dict) -> tuple[float, str]:
    """The largest relative error over the named arrays, and where (``dx[0, 1, 2, 3]``)."""
    found = (0.0, "")
    for name, want in expected.items():
        err, index = rel_error(arrays[name], want)
        if err > found[0] or not found[1]:
            found = (err, at(name, index))
    return found


def matches(arrays: dict, wrong: dict | None, expected: dict) -> bool:
    """Whether the learner's arrays are ``wrong`` (a mistake's) and not the right ones."""
    if not wrong or not set(wrong) & set(arrays):
        return False
    names = [name for name in wrong if name in arrays]
    return all(rel_error(arrays[n], wrong[n])[0] < TOLERANCE for n in names) and any(
        rel_error(wrong[n], expected[n])[0] > TOLERANCE for n in names
    )
