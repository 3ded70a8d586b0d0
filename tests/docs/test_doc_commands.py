"""Every command the pages print still parses: each `python benchmarks/X.py ...` quoted in
README.md or docs/*.md (in a code block or inline), or in a script's own docstring, against
X.py's own flags, and each
`cnn-numpy ...` line of README.md's bash blocks against the CLI (docs/ pages: test_docs.py).

A quoted benchmark command is parsed, not run: the script's parser is stopped right after
it accepted the flags.  Placeholders become what they stand for (DIR and DATA a folder,
MODEL and *.npz a model file, /tmp/old an older checkout: this one), ``{a,b}`` expands as
the shell does, and a command with ``...`` in it (elided on purpose) is skipped; a script
named alone in a sentence must exist.
"""

from __future__ import annotations

import argparse
import inspect
import re
import shlex
import sys
from pathlib import Path

import pytest
from helpers.benchmark_scripts import load_script

from cnn_numpy.tools.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
BENCHMARK = re.compile(r"(?:^|\s)\S*python (benchmarks/\w+\.py\b.*)$")
#: placeholder words the pages use for a value, by the flag they follow
VALUES = {"--dataset": "mnist", "--model": "lenet"}
#: flags whose value must name something real for the parser (its type= checks it)
CHECKOUT_FLAGS = {"--against"}


def quoted_lines(text: str) -> list[str]:
    """Each line of every code block (continuations joined) and every inline code span."""
    lines = []
    for _, body in FENCE.findall(text):
        lines += body.replace("\\\n", " ").splitlines()
    for span in re.findall(r"`([^`]+)`", FENCE.sub("", text)):
        lines.append(" ".join(span.split()))
    return lines


def docstring_lines(script: Path) -> list[str]:
    """The usage lines of a benchmark script's docstring, continuations joined."""
    text = script.read_text()
    return text.split('"""', 2)[1].replace("\\\n", " ").splitlines() if '"""' in text else []


def benchmark_commands() -> list[tuple[str, str]]:
    """(page, 'benchmarks/X.py flags ...') for every quoted command that runs a script."""
    found = []
    sources = [(page.name, quoted_lines(page.read_text())) for page in PAGES]
    sources += [(s.name, docstring_lines(s)) for s in sorted((ROOT / "benchmarks").glob("*.py"))]
    for page, lines in sources:
        for line in lines:
            match = BENCHMARK.search(line.strip())
            if match and "..." not in match.group(1):
                found.append((page, match.group(1).replace("[", "").replace("]", "")))
    return sorted(set(found))


def expand_braces(word: str) -> list[str]:
    match = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if not match:
        return [word]
    head, tail = word[: match.start()], word[match.end() :]
    return [w for part in match.group(1).split(",") for w in expand_braces(head + part + tail)]


def concrete(words: list[str], folder: Path) -> list[str]:
    """The words with their placeholders made real in ``folder`` (the working directory)."""
    out = []
    for i, word in enumerate(words):
        flag = words[i - 1] if i else ""
        if flag in CHECKOUT_FLAGS:
            word = str(ROOT)
        elif flag in VALUES and word.isupper():
            word = VALUES[flag]
        elif word in ("DIR", "DATA", "MODEL") or word.endswith(".npz"):
            # a model file, made inside ``folder`` even where the page names /tmp/nt/...
            word = str(
                folder / (word if word.endswith(".npz") else f"{word.lower()}.npz").lstrip("/")
            )
            if flag not in ("--data-dir", "--out", "--cache"):
                for path in map(Path, expand_braces(word)):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(b"")
        elif flag == "--workbook":  # a workbook folder: its conv2d.py is what the type checks
            word = str(folder / word.lstrip("/"))
            Path(word).mkdir(parents=True, exist_ok=True)
            (Path(word) / "conv2d.py").write_text("")
        out += expand_braces(word)
    return out


class Parsed(Exception):
    """Raised where the script's parser returns: its flags were accepted."""


@pytest.fixture
def stop_after_parsing(monkeypatch):
    real_parse_args, real_known = (
        argparse.ArgumentParser.parse_args,
        argparse.ArgumentParser.parse_known_args,
    )
    depth = []

    def parse_args(self, *args, **kwargs):
        depth.append(1)
        try:
            real_parse_args(self, *args, **kwargs)
        finally:
            depth.pop()
        raise Parsed

    def parse_known_args(self, *args, **kwargs):
        result = real_known(self, *args, **kwargs)
        if not depth:  # called by the script itself (accuracy.py passes the rest on)
            raise Parsed
        return result

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_args)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", parse_known_args)


def test_the_pages_quote_benchmark_commands():
    scripts = {command.split()[0] for _, command in benchmark_commands()}
    assert len(scripts) >= 20, scripts  # the walk finds them, so the test below is not empty


@pytest.mark.parametrize(
    "page, command", benchmark_commands(), ids=[c for _, c in benchmark_commands()]
)
def test_a_quoted_benchmark_command_parses(
    page, command, tmp_path, monkeypatch, stop_after_parsing
):
    monkeypatch.chdir(tmp_path)
    script, *words = shlex.split(command, comments=True)
    assert (ROOT / script).is_file(), f"{page}: {script} is gone"
    if not words:  # the script named in a sentence ("`python benchmarks/photos.py` prints")
        return
    argv = concrete(words, tmp_path)
    try:
        main = load_script(Path(script).stem).main
    except ImportError as err:  # torch, where a script needs it at import
        pytest.skip(f"{script}: {err}")
    if inspect.signature(main).parameters:
        call = lambda: main(argv)  # noqa: E731
    else:
        monkeypatch.setattr(sys, "argv", [script, *argv])
        call = main
    with pytest.raises(Parsed):
        try:
            call()
        except SystemExit as stopped:  # argparse refused a flag: the page is out of date
            pytest.fail(f"{page}: `python {command}` no longer parses (exit {stopped.code})")


def readme_cli_lines() -> list[str]:
    blocks = [
        body for lang, body in FENCE.findall((ROOT / "README.md").read_text()) if lang == "bash"
    ]
    lines = [line for body in blocks for line in body.replace("\\\n", " ").splitlines()]
    return [line for line in lines if shlex.split(line, comments=True)[:1] == ["cnn-numpy"]]


def test_readme_cli_commands_parse():
    parser = build_parser()
    assert len(readme_cli_lines()) >= 10
    for line in readme_cli_lines():
        try:
            args = parser.parse_args(shlex.split(line, comments=True)[1:])
        except SystemExit:
            pytest.fail(f"README.md: `{line}` no longer parses")
        assert args.command, line
