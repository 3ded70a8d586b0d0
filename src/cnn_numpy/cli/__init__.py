"""The ``cnn-numpy`` command.  Each subcommand lives in its own module with two
functions: ``add_parser(subparsers)`` and ``run(args) -> int`` (the exit code)."""

from __future__ import annotations

import argparse

from . import evaluate, gradcheck, predict, report, train

SUBCOMMANDS = [train, gradcheck, report, evaluate, predict]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-numpy", description="A CNN in pure NumPy: train it, look inside, learn from it.")
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
    return args.run(args)
