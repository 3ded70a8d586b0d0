"""A link that names a function, class or method in a file finds it defined there.

``[`im2col`](../src/cnn_numpy/layers/conv.py)`` sends a learner to read ``im2col``: a name that
moved to another module (and is only imported where the link points) leaves them reading an
``import`` line.  ``Class.method`` needs both the class and the method in the file; a module's
own name (``cnn_numpy.explain`` -> ``explain/__init__.py``) needs nothing more.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
NAMED_LINK = re.compile(r"\[`([A-Za-z_][\w.]*)(?:\([^`]*\))?`\]\(([^)#\s]+\.py)(?:#[^)\s]*)?\)")

NAMED = [
    (page, name, target)
    for page in PAGES
    for name, target in NAMED_LINK.findall(page.read_text())
    if not name.endswith((".py", ".md"))  # the link text is the file's own name
]


def defines(source: str, name: str) -> bool:
    """``name`` is a def, a class or a top-level/class-level assignment in ``source``."""
    word = re.escape(name)
    return bool(
        re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{word}\b|^\s*{word}\s*[:=]", source, re.M)
    )


def found(name: str, path: Path) -> bool:
    parts = name.split(".")
    module = path.parent.name if path.name == "__init__.py" else path.stem
    if parts[-1] == module:  # the link names the module itself
        return True
    source = path.read_text()
    if parts[0] == module:  # reference.conv2d -> conv2d in reference.py
        parts = parts[1:]
    return all(defines(source, part) for part in parts[-2:] if part != "cnn_numpy")


def test_the_pages_link_names_to_files():
    assert len(NAMED) >= 30
    assert found("conv_output_size", ROOT / "src/cnn_numpy/layers/windows.py")
    assert not found("conv_output_size", ROOT / "src/cnn_numpy/layers/conv.py")  # imported there
    assert not found("Conv2d.no_such_method", ROOT / "src/cnn_numpy/layers/conv.py")


@pytest.mark.parametrize("page, name, target", NAMED, ids=lambda v: str(getattr(v, "name", v)))
def test_a_linked_name_is_defined_in_the_file_it_links_to(page, name, target):
    path = (page.parent / target).resolve()
    assert path.exists(), f"{page.name}: broken link {target}"
    assert found(name, path), f"{page.name}: `{name}` is not defined in {target}"
