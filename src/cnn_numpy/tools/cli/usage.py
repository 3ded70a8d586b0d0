"""A mistyped command line: the error, a "did you mean ...?", and where the help is.

argparse prints the whole usage (a dozen lines) before its one-line error, and an unknown
flag is reported by the top-level parser, which knows none of the subcommand's flags.
``Parser.error`` prints instead::

    error: argument --dataset: invalid choice: 'minst' (choose from lines, mnist, fashion-mnist)
    did you mean --dataset mnist?
    see: cnn-numpy train --help

and exits 2, as argparse does.  ``main`` reports unknown flags through the subcommand's own
parser (``unknown_flags``), so the suggestion comes from that subcommand's flags.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are three short lines (the full usage is --help's)."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        hint = self.suggestion(message)
        if hint:
            print(f"did you mean {hint}?", file=sys.stderr)
        print(f"see: {self.prog} --help", file=sys.stderr, flush=True)
        self.exit(2)

    def suggestion(self, message: str) -> str | None:
        """The closest choice of a mistyped value, or the closest flags to unknown ones."""
        choice = re.match(r"argument (\S+): invalid choice: '(.*?)'", message)
        if choice:
            action = self.action_named(choice.group(1))
            choices = [str(c) for c in getattr(action, "choices", None) or ()]
            close = difflib.get_close_matches(choice.group(2), choices, n=1, cutoff=0.6)
            if not close:
                return None
            return close[0] if not action.option_strings else f"{choice.group(1)} {close[0]}"
        unknown = re.match(r"unrecognized arguments: (.*)", message)
        if unknown:
            typed = [t.split("=")[0] for t in unknown.group(1).split() if t.startswith("-")]
            close = [flag for t in typed for flag in self.closest_flags(t)]
            return " or ".join(dict.fromkeys(close)) or None
        return None

    def action_named(self, name: str) -> argparse.Action | None:
        """The action a message calls ``name``: a flag, or a positional's metavar/dest."""
        for action in self._actions:
            if name in action.option_strings or name in (action.metavar, action.dest):
                return action
        return None

    def closest_flags(self, typed: str, n: int = 2) -> list[str]:
        """This parser's flags nearest ``typed``: by spelling (difflib), or whose initials
        or help text spell it (``--learning-rate`` -> ``--lr``, whose help is "learning
        rate")."""
        words = typed.lstrip("-").lower().replace("_", "-").split("-")
        scored = []
        for action in self._actions:
            helptext = (action.help or "").lower()
            for flag in action.option_strings:
                if not flag.startswith("--") or flag == "--help":
                    continue
                name = flag[2:].split("-")
                score = difflib.SequenceMatcher(None, typed.lower(), flag).ratio()
                if "".join(w[0] for w in words if w) == "".join(name) or "".join(
                    w[0] for w in name if w
                ) == "".join(words):
                    score = max(score, 0.9)  # --learning-rate / --lr, --bs / --batch-size
                if len(words) > 1 and " ".join(words) in helptext:
                    score = max(score, 0.85)
                scored.append((score, flag))
        scored.sort(key=lambda pair: -pair[0])
        return [flag for score, flag in scored[:n] if score >= 0.7]


def subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand ``command`` (``parser`` itself if there is none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def unknown_flags(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, with arguments no flag takes reported by the subcommand's
    parser (its flags are the ones to suggest), not the top-level one."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        subparser(parser, getattr(args, "command", None)).error(
            f"unrecognized arguments: {' '.join(extras)}"
        )
    return args
