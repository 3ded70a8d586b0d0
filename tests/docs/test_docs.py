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


def test_the_tour_has_its_eight_pages():
    numbered = [p.name for p in TOUR]
    assert [name[:2] for name in numbered] == [f"{i:02d}" for i in range(1, 9)], numbered


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, source in enumerate(blocks(page, "python")):
        if source.startswith("# excerpt:"):
            continue
        exec(compile(source, f"{page.name} (python block {i + 1})", "exec"), namespace)


def stripped_lines(text: str) -> list[str]:
    """Non-blank lines with runs of spaces made one: the formatter may realign a comment."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_excerpts_are_still_in_the_code(page):
    for source in blocks(page, "python"):
        if not source.startswith("# excerpt:"):
            continue
        header, _, body = source.partition("\n")
        path = ROOT / header.removeprefix("# excerpt:").strip()
        assert path.is_file(), f"{page.name}: excerpt of a missing file {path}"
        quoted, code = stripped_lines(body), stripped_lines(path.read_text())
        found = any(code[i : i + len(quoted)] == quoted for i in range(len(code)))
        assert found, f"{page.name}: this excerpt is no longer in {path.name}:\n{body}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_cli_commands_parse(page):
    parser = build_parser()
    for source in blocks(page, "bash"):
        for line in source.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["cnn-numpy"]:
                args = parser.parse_args(words[1:])  # SystemExit(2) on an unknown flag
                assert args.command, line


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # web links and same-page anchors
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name}: broken link {target}"
