"""The ``cnn-numpy`` command.

How it is built:

    __init__.py     main(): parses the command line, runs the subcommand, and is the one
                    place errors are reported
    common.py       CliError / UsageError, print_error, writing(); argument types that
                    range-check every flag where it is given; load_model(path) -> (model, card)
    dataset.py      load_data(): the lines, MNIST or Fashion-MNIST splits a run asks for,
                    normalised; shared by train, evaluate and report
    train.py        `train`: its flags, and run() as a short list of named steps, using
      settings.py       the settings: flags, per-dataset defaults, or a resumed run's config.json
      flag_notes.py     notes: a flag given that the run does not use, --monitor on workers
      memory_check.py   refuses a model and batch whose arrays would not fit in memory
      run_dir.py        the run folder: refuse to overwrite, make it, remove it if no epoch ends
      training.py       build or restore model + optimizer + schedule (once), train, save
                        each epoch, Ctrl-C -> "Continue with: cnn-numpy train --resume RUN"
      live.py           --live: the page's training view around the run (cnn_numpy.tools.live)
    evaluate.py     `evaluate MODEL`: accuracy, per class, confusion matrix (test split only)
    predict.py      `predict MODEL IMAGE...`: your own drawings, prepared like MNIST
    explain.py      `explain MODEL IMAGE...`: saliency, Grad-CAM, occlusion, IG over them
    attack.py       `attack MODEL`: accuracy under FGSM / PGD per eps (cnn_numpy.explain)
    adversarial.py  train's --adversarial EPS [--attack fgsm|pgd]
    report.py       `report RUN_DIR`: redraw a run's pictures and report.html
    diagnose.py     `diagnose`: the doctor's checklist on the setup train would run
    gradcheck.py    `gradcheck`: every layer's backward() against central differences
    export.py       `export MODEL OUT.onnx`: a saved model as ONNX
    serve.py        `serve MODEL`: a page to draw digits through every layer (cnn_numpy.tools.live)
    usage.py        a mistyped command line: the error, "did you mean ...?", where help is
    exercises.py    `exercises start|check|hint DIR`: the workbook; --layers-from for train, serve

Each subcommand module has ``add_parser(subparsers)`` and ``run(args) -> int`` (the exit
status).  ``run`` raises ``CliError`` for what the user can fix, or lets the library's errors
through; ``main`` turns them into ``error: ...`` on stderr (exit 1; 2 for usage errors, as
argparse), and Ctrl-C into one line (exit 130).  ``CNN_NUMPY_DEBUG=1`` shows the full
traceback instead.  Notes and results go to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys

from ... import __version__
from ..install_hint import missing_module_message
from . import (
    attack,
    diagnose,
    evaluate,
    exercises,
    explain,
    export,
    gradcheck,
    predict,
    report,
    serve,
    train,
)
from .common import CliError, error_message, print_error
from .usage import Parser, unknown_flags

SUBCOMMANDS = [
    train,
    diagnose,
    gradcheck,
    report,
    evaluate,
    predict,
    explain,
    attack,
    export,
    serve,
]
SUBCOMMANDS += [exercises]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(  # its errors: the error, "did you mean ...?", where the help is
        prog="cnn-numpy", description="A CNN in pure NumPy: train it, look inside, learn from it."
    )
    parser.add_argument("--version", action="version", version=f"cnn-numpy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    showable_output()
    parser = build_parser()
    args = unknown_flags(parser, argv)  # parse_args, with the subcommand's own suggestions
    if args.command is None:
        parser.print_help()
        return 0
    if os.environ.get("CNN_NUMPY_DEBUG"):
        return args.run(args)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early, e.g. `cnn-numpy evaluate ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # 128 + SIGPIPE, as a shell reports it
    except CliError as err:
        return report_error(err, err.code)
    except ImportError as err:  # a package this command needs is missing: how to install it
        print_error(missing_module_message(err))
        return 1
    except (ValueError, TypeError, OSError, MemoryError, RuntimeError) as err:
        return report_error(err, 1)


def showable_output() -> None:
    """A character the terminal's encoding cannot show (a ✓, a ·, a ×: PYTHONIOENCODING=ascii,
    or Windows' cp1252 into a file) is printed as '?' instead of ending the command with a
    UnicodeEncodeError.  The command's own output streams only; nothing else changes."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and stream.errors == "strict":
            stream.reconfigure(errors="replace")


def report_error(err: BaseException, code: int) -> int:
    """``error: <message>`` on stderr; the exit status."""
    print_error(error_message(err))
    return code
