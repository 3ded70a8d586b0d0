"""``cnn-numpy exercises start|check|hint DIR``: the workbook where you write the layers
yourself (``cnn_numpy.tools.exercises``), and ``--layers-from DIR`` for ``train`` and
``serve``: your own functions inside the library's layers, wherever they pass the grader."""

from __future__ import annotations

import argparse
import json
import sys
from shlex import quote

from ..exercises import check, hint, layers_from, start
from .common import UsageError, float_in


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "exercises",
        help="a graded workbook: write relu, linear, conv2d, ... yourself",
        description="Write the layers of a CNN yourself, graded against the library's own "
        "and numerical gradients; then train with them (train --layers-from DIR).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    start_p = actions.add_parser("start", help="write a fresh workbook into DIR")
    start_p.add_argument("folder", metavar="DIR")
    start_p.add_argument(
        "--force",
        action="store_true",
        help="DIR holds a workbook: write again only the files you have not changed",
    )
    check_p = actions.add_parser("check", help="grade the workbook (or the exercises named)")
    check_p.add_argument("folder", metavar="DIR")
    check_p.add_argument(  # a default, or argparse lists the optional EXERCISE as required
        "exercises", nargs="*", default=[], metavar="EXERCISE", help="e.g. conv2d"
    )
    check_p.add_argument("--json", action="store_true", help="the results as JSON on stdout")
    check_p.add_argument(
        "--time-limit",
        type=float_in(0, 3600, low_open=True),
        default=10.0,
        metavar="S",
        help="seconds each function may run in all (default 10)",
    )
    hint_p = actions.add_parser("hint", help="the next hint for an exercise")
    hint_p.add_argument("folder", metavar="DIR")
    hint_p.add_argument("exercise", metavar="EXERCISE")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "start":
        done = start(args.folder, force=args.force)
        print(f"Workbook in {args.folder}: wrote {', '.join(done['written']) or 'nothing'}")
        if done["kept"]:
            print(f"Kept your work in {', '.join(done['kept'])}")
        print(f"Read {args.folder}/README.md, then: cnn-numpy exercises check {quote(args.folder)}")
        return 0
    if args.action == "hint":
        print(hint(args.folder, args.exercise))
        return 0
    try:
        report = check(args.folder, args.exercises or None, time_limit=args.time_limit)
    except ValueError as err:  # no workbook there (nothing handed in), an unknown exercise
        if not args.json:
            raise
        # a teacher's loop writes stdout to a results file: an object there too, not nothing
        print(json.dumps(dict(ok=False, summary="not graded", error=str(err), results=[])))
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def add_layers_from_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--layers-from",
        default=None,
        metavar="DIR",
        help="use your own functions from the workbook in DIR (cnn-numpy exercises) "
        "wherever they pass the grader; the library's for the rest",
    )


def use_layers_from(args: argparse.Namespace, model, optimizer=None, workers=None):
    """``--layers-from``: the learner's functions into ``model`` (and ``optimizer``), a line
    per exercise printed; the loss to train with (None without the flag)."""
    if getattr(args, "layers_from", None) is None:
        return None
    if workers not in (None, 1):
        raise UsageError("--layers-from trains in one process: leave out --workers")
    try:
        adoption = layers_from(args.layers_from, model, optimizer)
    except ValueError as err:
        raise UsageError(f"--layers-from: {err}") from None
    print(f"Layers from {args.layers_from}:")
    for line in adoption.lines:
        print(f"  {line}")
    return adoption.loss
