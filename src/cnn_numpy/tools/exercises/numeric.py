"""Numerical gradients of the learner's own forward (central differences, float64), at a few
indices of each argument (as CS231n's ``grad_check_sparse``), beside the grader's comparison
with the library: they tell a wrong backward from a backward that follows a wrong forward."""

from __future__ import annotations

import numpy as np

from .catalog import BACKWARD_GRADS
from .compare import at, rel_error

STEP = 1e-6
#: indices checked per argument
SAMPLES = 6
#: central differences in float64 agree with a right gradient to ~1e-8
NUMERIC_TOLERANCE = 1e-4


def learner_value(grader, case, args, output_of) -> float | None:
    outcome = grader.call(args, case.kwargs, keep="" if case.dout is not None else None)
    if not outcome.ok:
        return None
    try:
        return output_of(outcome.value)
    except (TypeError, ValueError, IndexError):
        return None


def sampled(array: np.ndarray, rng) -> list[tuple[int, ...]]:
    """A few indices of ``array``, away from kinks (ReLU's and max-pool's are at 0 and ties)."""
    usable = np.flatnonzero(np.abs(array) > 1e-3)
    chosen = rng.choice(usable, size=min(SAMPLES, len(usable)), replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, array.shape)) for k in chosen]


def numerical_gradients(grader, case, arrays: dict, wrt: dict) -> tuple[float, str] | None:
    """The largest relative error between the learner's gradients and the numerical ones of
    the learner's forward, and where; None if the forward could not be run again."""
    if case.dout is not None:  # a layer: d/d(arg) of sum(out * dout)

        def output_of(value):
            return float(np.sum(value[1][1] * case.dout))
    else:  # the loss function: d(loss)/d(logits)

        def output_of(value):
            return float(np.asarray(value[1][0][1]))

    rng = np.random.default_rng(0)
    largest = (0.0, "")
    for name, position in wrt.items():
        arg = case.args[position]
        for index in sampled(arg, rng):
            values = []
            for sign in (1, -1):
                moved = [np.array(a) if k == position else a for k, a in enumerate(case.args)]
                moved[position][index] += sign * STEP
                value = learner_value(grader, case, tuple(moved), output_of)
                if value is None:
                    return None
                values.append(value)
            numeric = (values[0] - values[1]) / (2 * STEP)
            err = rel_error(np.array(arrays[name][index]), np.array(numeric))[0]
            if err >= largest[0]:
                largest = (err, at(name, index))
    return largest


def numerical_check(forward, case, arrays, result, low_precision=None):
    """``result`` (the backward's, or the loss's) with what the numerical gradients say.
    ``low_precision``: the dtype of a forward that answers float64 in float32 (or less),
    whose central differences are rounding noise, so they are not taken."""
    if result.mistake is not None:  # named already: the numbers would say less
        return result
    if low_precision is not None:
        result.message += (
            f"; numerical gradients not checked: your forward returns {low_precision}, whose "
            f"rounding makes central differences noise (fix the forward's dtype first)"
        )
        return result
    wrt = BACKWARD_GRADS.get(forward.exercise.name, {"dlogits": 0})
    found = numerical_gradients(forward, case, arrays, wrt)
    if found is None:
        return result
    err, where = found
    if result.passed and err < NUMERIC_TOLERANCE:
        result.message += f"; numerical gradients agree ({err:.1e})"
    elif result.passed:
        result.message += (
            f"; numerical gradients of your own forward differ ({where}: relative error "
            f"{err:.2g}), so your forward does not compute what this backward differentiates"
        )
    elif err < NUMERIC_TOLERANCE:
        result.message += (
            "; it does agree with numerical gradients of your own forward, so look at the "
            "forward too"
        )
    else:
        result.message += (
            f"; it also differs from numerical gradients of your own forward "
            f"({where}: relative error {err:.2g})"
        )
    return result
