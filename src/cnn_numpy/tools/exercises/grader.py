"""The grader: each function of an exercise, run in the learner's own process (``sandbox``),
on the cases of ``cases.py``, compared with the library's answers and, for a backward, with
numerical gradients of the learner's own forward.  Every outcome is a ``Result`` line; nothing
the learner's code does raises here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from shlex import quote

import numpy as np

from .cases import Case, cases_for
from .catalog import BACKWARD_GRADS, Exercise
from .compare import TOLERANCE, describe, matches, not_finite, rel_error, unpack, worst
from .mistakes import BIAS_NOT_SUMMED, MISTAKES
from .numeric import numerical_check
from .precision import lost_digits, precision_message
from .sandbox import Outcome, Sandbox
from .source import def_line, defined_elsewhere, imports_not_allowed, misnamed, stub_signature

PASS, FAIL, TODO = "pass", "fail", "not done"


@dataclass
class Result:
    exercise: str
    function: str
    status: str  # PASS, FAIL or TODO
    message: str
    error: float | None = None  # the largest relative error found
    where: str | None = None  # which array and index it was at
    location: str | None = None  # the learner's file:line
    mistake: str | None = None  # the classic mistake recognised, in a few words

    @property
    def passed(self) -> bool:
        return self.status == PASS


class FunctionGrader:
    """One function's calls, under its time budget (``limit`` seconds in all)."""

    def __init__(self, box: Sandbox, exercise: Exercise, function: str, limit: float):
        self.box, self.exercise, self.function = box, exercise, function
        self.left, self.limit = limit, limit

    def call(self, args, kwargs=None, keep=None, cache=None) -> Outcome:
        outcome = self.box.call(
            self.function, args, kwargs, keep, cache, limit=max(self.left, 0.01)
        )
        self.left -= outcome.seconds
        if outcome.problem and outcome.problem.startswith("stopped after"):
            outcome.problem = f"stopped after {self.limit:g} s (an endless loop?)"
        return outcome

    def result(self, status: str, message: str, **more) -> Result:
        if more.get("location") == self.box.path:  # a wrong value: point at the function
            more["location"] = def_line(self.box.path, self.function)
        return Result(self.exercise.name, self.function, status, message, **more)

    def failed_call(self, outcome: Outcome, case: Case) -> Result:
        location = outcome.where or self.box.path
        if outcome is self.box.load_problem:  # the file, not a case: a SyntaxError, ...
            message = f"{outcome.problem} (loading the file)"
            if outcome.problem.startswith("NotImplementedError"):  # a try-out at the top
                message += (
                    ": code at the top of the file calls a function not done yet; put "
                    'your try-outs under if __name__ == "__main__":'
                )
            elif outcome.problem.startswith("stopped after"):  # a long try-out at the top
                message += (
                    ": code at the top of the file runs as the grader loads it; put your "
                    'try-outs under if __name__ == "__main__":'
                )
            return self.result(FAIL, message, location=location)
        if outcome.problem.startswith("NotImplementedError"):
            return self.result(TODO, "not done yet (it raises NotImplementedError)")
        if outcome.problem.startswith("is not defined"):  # no case can show more
            if near := misnamed(self.box.path, self.function):  # a typo in the def line
                message = f"{outcome.problem}; it defines {near}: name it {self.function}"
                return self.result(FAIL, message, location=def_line(self.box.path, near))
            return self.result(FAIL, outcome.problem, location=location)
        message = f"{outcome.problem} (on {case.label})"
        if outcome.problem.startswith(f"TypeError: {self.function}()"):  # renamed parameters
            signature = stub_signature(self.exercise.file, self.function)
            message += f"; the grader calls it as the stub declares it: {signature}"
        return self.result(FAIL, message, location=location)

    def changed_input(self, outcome: Outcome, case: Case) -> Result:
        """The call wrote into arrays it was given: a fail, even if its answer is right (in
        a network they are another layer's output or gradient, still in use)."""
        names = " and ".join(outcome.changed)
        message = (
            f"changed its argument{'s' * (len(outcome.changed) > 1)} {names} in place (on "
            f"{case.label}): leave the arrays it is given as they were and return a new "
            f"array (a product, np.where, or {outcome.changed[0]}.copy() first)"
        )
        return self.result(FAIL, message, location=self.box.path, mistake="changed in place")

    def compare(self, cases_and_arrays: list[tuple[Case, dict]], expected_of) -> Result:
        """Pass if every case is within TOLERANCE; else the first bad case, named if it is a
        classic mistake."""
        largest, largest_where, failures = 0.0, "", []
        for case, arrays in cases_and_arrays:
            expected = expected_of(case)
            problem = not_finite(arrays)
            if problem:
                failures.append(self.non_finite(problem, case, arrays))
                continue
            low = [name for name, a in arrays.items() if lost_digits(a.dtype)]
            if low:  # float64 in, float32 out: 6 digits where float64 has 15 (ints: none)
                failures.append(self.low_precision(low, arrays, case))
                continue
            err, where = worst(arrays, expected)
            if err > TOLERANCE:
                failures.append(self.mismatch(case, arrays, expected, err, where))
            elif err >= largest:
                largest, largest_where = err, where
        if failures:  # the first that names a classic mistake, else the first
            return next((f for f in failures if f.mistake), failures[0])
        count = f"{len(cases_and_arrays)} case{'s' * (len(cases_and_arrays) > 1)}"
        return self.result(
            PASS,
            f"{count}, largest relative error {largest:.1e}"
            + (f" ({largest_where})" if largest else " (exact)"),
            error=largest,
            where=largest_where,
        )

    def non_finite(self, problem: str, case: Case, arrays: dict) -> Result:
        if self.function == "softmax_cross_entropy" and "1000" in case.label:
            named = "softmax without subtracting the max"
            message = (
                f"{named}: exp(1000) overflows to inf, and {problem} on {case.label}. "
                "Subtract each row's maximum from the logits first"
            )
            if rel_error(arrays["dlogits"], case.expected["dlogits"])[0] < TOLERANCE:  # p is right
                named = "log of a probability that underflowed to 0"
                message = (
                    f"{named}: {problem} on {case.label}, whose p at the label is below "
                    "float64's smallest number, so np.log(p) is -inf. Take the log before "
                    "dividing: log p = shifted row - log(sum of exp(shifted row))"
                )
            return self.result(FAIL, message, location=self.box.path, mistake=named)
        return self.result(FAIL, f"{problem} (on {case.label})", location=self.box.path)

    def low_precision(self, names: list[str], arrays: dict, case: Case) -> Result:
        """A float32 (or integer) answer to float64 arguments: the docstrings ask for the
        input's dtype (``precision.precision_message`` says why)."""
        message, named = precision_message(names, arrays[names[0]].dtype, case.label)
        return self.result(FAIL, message, location=self.box.path, mistake=named)

    def mismatch(self, case, arrays, expected, err, where) -> Result:
        found = f"largest relative error {err:.2g} at {where} (on {case.label})"
        for mistake in MISTAKES.get(self.function, []):
            if matches(arrays, mistake.outputs(case), expected):
                message = f"{mistake.message}; {found}"
                named = mistake.message.split(":")[0]
                return self.result(
                    FAIL, message, error=err, where=where, location=self.box.path, mistake=named
                )
        message = f"differs from the library's: {found}"
        return self.result(FAIL, message, error=err, where=where, location=self.box.path)


def grade_exercise(folder: Path, exercise: Exercise, limit: float, seed: int = 0) -> list[Result]:
    path = Path(folder) / exercise.file
    if not path.is_file():
        message = f"{path} is missing (cnn-numpy exercises start --force {quote(str(folder))} writes it again)"
        results = [Result(exercise.name, f, FAIL, message) for f in exercise.functions]
    elif banned := imports_not_allowed(path):  # read, not run: it would pass by their layers
        package, file, line = banned
        named = f"imports {package}"
        through = f" (in {file.name}, which it imports)" if file != path else ""
        message = f"{named}{through}: the workbook is NumPy only; write the maths yourself with np"
        where = f"{file}:{line}"
        return [
            Result(exercise.name, f, FAIL, message, None, None, where, named)
            for f in exercise.functions
        ]
    else:
        with Sandbox(str(path)) as box:
            cases = cases_for(exercise.name, seed)
            if exercise.name in BACKWARD_GRADS:
                results = grade_layer(box, exercise, cases, limit)
            else:
                results = [grade_function(box, exercise, cases, limit)]
    return [written_elsewhere(Path(folder), exercise, result) for result in results]


def written_elsewhere(folder: Path, exercise: Exercise, result: Result) -> Result:
    """A function not done (or not there) in its own file but written in another file of the
    workbook: say where, since the grader reads only its own file."""
    unwritten = result.status == TODO or result.message.startswith("is not defined")
    unwritten = unwritten or " is missing (" in result.message
    others = defined_elsewhere(folder, result.function, exercise.file) if unwritten else []
    if others:
        result.message += (
            f"; {result.function} is written in {', '.join(others)}, but the grader reads it "
            f"from {exercise.file}: move it there"
        )
    return result


def grade_function(box: Sandbox, exercise: Exercise, cases: list[Case], limit: float) -> Result:
    """A function that returns all it computes at once (the loss, the optimizers' steps)."""
    grader = FunctionGrader(box, exercise, exercise.functions[0], limit)
    names = tuple(cases[0].expected)
    results = []
    for case in cases:
        outcome = grader.call(case.args, case.kwargs)
        if not outcome.ok:
            return grader.failed_call(outcome, case)
        if outcome.changed:
            return grader.changed_input(outcome, case)
        shapes = {name: np.shape(value) for name, value in case.expected.items()}
        arrays, problem = unpack(outcome.value, names, shapes, grader.function)
        if problem:
            return grader.result(FAIL, f"{problem} (on {case.label})", location=box.path)
        results.append((case, arrays))
    result = grader.compare(results, lambda case: case.expected)
    if result.passed and grader.function == "softmax_cross_entropy":
        result = numerical_check(grader, cases[0], results[0][1], result)
    return result


def grade_layer(box: Sandbox, exercise: Exercise, cases: list[Case], limit: float) -> list[Result]:
    """forward on every case (each keeps its cache in the learner's process), then backward."""
    forward_name, backward_name = exercise.functions
    forward = FunctionGrader(box, exercise, forward_name, limit)
    kept, outs, forward_result, shape_problem, changed = [], [], None, None, None
    for k, case in enumerate(cases):
        outcome = forward.call(case.args, case.kwargs, keep=f"case{k}")
        if not outcome.ok:
            forward_result = forward.failed_call(outcome, case)
            break
        if outcome.value[0] != "pair":
            message = f"should return (out, cache), got {describe(outcome.value)}"
            forward_result = forward.result(FAIL, message, location=box.path)
            break
        kept.append(k)  # its cache is there: the backward can be graded on it
        if outcome.changed:
            changed = changed or forward.changed_input(outcome, case)
        shapes = {"out": case.expected["out"].shape}
        arrays, problem = unpack(outcome.value[1], ("out",), shapes, forward_name)
        if problem:
            message = f"{problem} (on {case.label})"
            shape_problem = shape_problem or forward.result(FAIL, message, location=box.path)
        else:
            outs.append((case, arrays))
    if forward_result is None:
        compared = forward.compare(outs, lambda case: case.expected) if outs else None
        named = compared is not None and compared.mistake is not None
        # a wrong shape on one case, unless another case shows which classic mistake it is
        forward_result = shape_problem if shape_problem and not named else compared
        forward_result = changed or forward_result  # a right answer that spoilt its input
    backward = FunctionGrader(box, exercise, backward_name, limit)
    if box.process is None:  # the forward stopped its process (a timeout, a crash): the
        kept = []  # caches went with it
    if box.load_problem is not None:  # the file itself: a SyntaxError, a loop at import ...
        return [forward_result, backward.failed_call(box.load_problem, cases[0])]
    if not kept:
        status = TODO if forward_result.status == TODO else FAIL
        message = f"needs {forward_name}'s cache: {forward_name} first"
        return [forward_result, backward.result(status, message)]
    grads = BACKWARD_GRADS[exercise.name]
    results = []
    for k in kept:
        case = cases[k]
        outcome = backward.call((case.dout,), cache=f"case{k}")
        if not outcome.ok:
            return [forward_result, backward.failed_call(outcome, case)]
        if outcome.changed:
            return [forward_result, backward.changed_input(outcome, case)]
        shapes = {name: case.grads[name].shape for name in grads}
        arrays, problem = unpack(outcome.value, tuple(grads), shapes, backward_name)
        if problem:
            hint = shape_hint(problem, case)
            message = f"{problem}{hint} (on {case.label})"
            return [forward_result, backward.result(FAIL, message, location=box.path)]
        results.append((case, arrays))
    result = backward.compare(results, lambda case: case.grads)
    low = next((a.dtype for _, out in outs for a in out.values() if lost_digits(a.dtype)), None)
    checked = numerical_check(forward, cases[kept[0]], results[0][1], result, low)
    return [forward_result, checked]


def shape_hint(problem: str, case: Case) -> str:
    """A word on the two wrong shapes that have a classic cause (a wrong shape only: None or
    a list has causes of its own, which the problem names)."""
    if problem.startswith("dbias has shape") and case.dout is not None:
        return f": {BIAS_NOT_SUMMED}"
    if problem.startswith("dx has shape") and case.kwargs.get("padding"):
        return ": is it the padded input's? cut the padding off: dxp[:, :, p:p+H, p:p+W]"
    return ""
