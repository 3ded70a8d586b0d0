"""A workbook of ``cnn-numpy exercises`` as ``start`` writes it, filled with the correct
solution in tests/tools/exercises/solution/ (written by hand from the stubs' docstrings), and
``plant``: a small edit of one of its files, to plant a mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

from cnn_numpy.tools.exercises import start

SOLUTION = Path(__file__).resolve().parents[1] / "tools" / "exercises" / "solution"


def solved_workbook(folder: Path) -> Path:
    start(folder)
    for path in SOLUTION.glob("*.py"):
        shutil.copy(path, folder / path.name)
    return folder


def plant(folder: Path, file: str, old: str, new: str) -> Path:
    """Edit ``file`` of the workbook: the last ``old`` in it (the code, after the
    docstrings) becomes ``new``."""
    path = folder / file
    text = path.read_text()
    assert old in text, f"{old!r} is not in {file}"
    before, _, after = text.rpartition(old)
    path.write_text(before + new + after)
    return path
