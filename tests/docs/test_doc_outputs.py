"""What a page shows a command printing is what the command prints today.

The numbers that depend on the CPU's rounding (relative errors near 1e-9) are masked; the
lines, the columns and every word must match.
"""

from __future__ import annotations

import re
from pathlib import Path

from cnn_numpy.tools.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
ERROR = re.compile(r"\d\.\d\de-\d\d")


def text_block_after(page: Path, command: str) -> str:
    """The first ```text block after the line that holds ``command``."""
    text = page.read_text()
    return text[text.index(command) :].split("```text\n", 1)[1].split("```", 1)[0]


def test_the_gradcheck_table_of_page_7_is_the_commands(capsys):
    shown = text_block_after(DOCS / "07-gradient-checks.md", "cnn-numpy gradcheck --model seed")
    assert main(["gradcheck", "--model", "seed"]) == 0
    printed = capsys.readouterr().out
    assert ERROR.sub("x.xxe-xx", shown) == ERROR.sub("x.xxe-xx", printed)


def test_page_8_names_the_mnist_default_batch_size():
    """The MNIST row of page 8 is measured with the default; when the default moved from 64
    to 128, the page still called batch 64 the default."""
    from cnn_numpy.tools.cli import build_parser
    from cnn_numpy.tools.cli.settings import resolve_defaults

    default = resolve_defaults(build_parser().parse_args(["train", "--dataset", "mnist"]))
    page = (DOCS / "08-tweak-me.md").read_text()
    assert default.model == "lenet"
    assert f"the MNIST default now: batch {default.batch_size} on two processes" in page
    assert f"but for batches of {default.batch_size}, split over two" in " ".join(page.split())
