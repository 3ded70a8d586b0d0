"""The guided tour in docs/ cannot rot: every Python block runs, every excerpt of library code
is still in the file it quotes, every `cnn-numpy` command parses, every relative link resolves.

Blocks of a page run in order in one fresh namespace (a page is one session), in a temporary
working directory.  A block whose first line is ``# excerpt: PATH`` is a quotation of PATH and
is compared with it instead of being run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cnn_numpy.tools.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: the tour's pages ("01-....md" ... ), its index, and every other page in docs/
TOUR = sorted(DOCS.glob("[0-9][0-9]-*.md"))
PAGES = TOUR + sorted(set(DOCS.glob("*.md")) - set(TOUR))

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text()) if lang == language]


def runnable(page: Path) -> list[str]:
    return [b for b in blocks(page, "python") if not b.startswith("# excerpt:")]


def excerpts(page: Path) -> list[str]:
    return [b for b in blocks(page, "python") if b.startswith("# excerpt:")]


def commands(page: Path) -> list[str]:
    lines = [line for source in blocks(page, "bash") for line in source.splitlines()]
    return [line for line in lines if shlex.split(line, comments=True)[:1] == ["cnn-numpy"]]


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(page.read_text()) if not re.match(r"[a-z]+:|#", t)]


def pages_with(walk) -> list[Path]:
    """Each test below runs on the pages that have what it checks, so no case passes empty."""
    return [page for page in PAGES if walk(page)]


def test_the_tour_has_its_eight_pages():
    numbered = [p.name for p in TOUR]
    assert [name[:2] for name in numbered] == [f"{i:02d}" for i in range(1, 9)], numbered


def test_every_page_is_checked_by_some_walk():
    walks = (runnable, excerpts, commands, relative_links)
    unchecked = [page.name for page in PAGES if not any(walk(page) for walk in walks)]
    assert len(PAGES) >= 14 and unchecked == []


@pytest.mark.parametrize("page", pages_with(runnable), ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, source in enumerate(runnable(page)):
        exec(compile(source, f"{page.name} (python block {i + 1})", "exec"), namespace)


def stripped_lines(text: str) -> list[str]:
    """Non-blank lines with runs of spaces made one: the formatter may realign a comment."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("page", pages_with(excerpts), ids=lambda p: p.name)
def test_excerpts_are_still_in_the_code(page):
    for source in excerpts(page):
        header, _, body = source.partition("\n")
        path = ROOT / header.removeprefix("# excerpt:").strip()
        assert path.is_file(), f"{page.name}: excerpt of a missing file {path}"
        quoted, code = stripped_lines(body), stripped_lines(path.read_text())
        found = any(code[i : i + len(quoted)] == quoted for i in range(len(code)))
        assert found, f"{page.name}: this excerpt is no longer in {path.name}:\n{body}"


@pytest.mark.parametrize("page", pages_with(commands), ids=lambda p: p.name)
def test_cli_commands_parse(page):
    parser = build_parser()
    for line in commands(page):
        args = parser.parse_args(shlex.split(line, comments=True)[1:])  # exit 2 on a bad flag
        assert args.command, line


@pytest.mark.parametrize("page", pages_with(relative_links), ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in relative_links(page):  # web links and same-page anchors are not walked
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name}: broken link {target}"
