"""The ``cnn-numpy`` command.  Each subcommand lives in its own module with two
functions: ``add_parser(subparsers)`` and ``run(args) -> int`` (the exit code).

``main`` is the one place errors are reported: a ``CliError`` or any error the library
raises for bad input becomes ``error: ...`` on stderr (exit 1; 2 for usage errors), Ctrl-C
becomes one line (exit 130).  ``CNN_NUMPY_DEBUG=1`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from . import evaluate, export, gradcheck, predict, report, train
from .common import CliError

SUBCOMMANDS = [train, gradcheck, report, evaluate, predict, export]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-numpy", description="A CNN in pure NumPy: train it, look inside, learn from it.")
    parser.add_argument("--version", action="version", version=f"cnn-numpy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    except CliError as err:
        return report_error(err, err.code)
    except (ValueError, TypeError, OSError, MemoryError, RuntimeError) as err:
        return report_error(err, 1)


def report_error(err: BaseException, code: int) -> int:
    """``error: <message>`` on stderr; the exit status."""
    message = str(err) or type(err).__name__
    if isinstance(err, MemoryError):
        message = f"not enough memory ({message}); try a smaller batch, model or --limit"
    elif isinstance(err, OSError) and err.filename is not None and str(err.filename) not in message:
        message = f"{err.filename}: {message}"
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code
