"""Exercises: a graded workbook where learners write the layers themselves.

``start(folder)`` writes one stub file per exercise (relu, linear, softmax_cross_entropy, sgd,
conv2d, maxpool2d, batchnorm2d, adam: CS231n's convention, a forward returns ``(out,
cache)``); ``check(folder)`` grades them against the library's own layers and numerical
gradients, naming the classic mistakes, with the learner's code in a process of its own;
``hint(folder, name)`` gives the next hint; ``layers_from(folder, model, optimizer)`` puts the
functions that pass into a model and optimizer (``train --layers-from``).

    worker.py, sandbox.py   the learner's process, and the grader's side of it
    cases.py                random float64 cases and the library's answers
    mistakes.py             the classic mistakes, and what each gives
    compare.py, numeric.py  relative errors and where; numerical gradients
    precision.py            answers that lost digits (float32 or ints for float64)
    grader.py, report.py    a Result per function; the Report (print it; to_dict for JSON)
    workbook.py             start, hint, check, the workbook's .workbook.json
    layers_from.py          the learner's functions inside the library's layers
"""

from .catalog import EXERCISES
from .grader import Result
from .layers_from import layers_from
from .report import Report
from .workbook import check, hint, start

__all__ = ["EXERCISES", "Report", "Result", "check", "hint", "layers_from", "start"]
