"""The house: the core never imports a tool, nothing imports in a circle, no file over 300 lines.

Imports are read with ``ast`` (function-level imports count), resolved to the module they
name, and checked as a graph.  ``tools/`` may use the core; the core (everything under
``cnn_numpy`` outside ``tools/``) may not use ``tools/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cnn_numpy"
TOOLS = "cnn_numpy.tools"
MAX_LINES = 300


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path, known: set[str]) -> set[str]:
    """The package's own modules that ``path`` imports, at any depth of its code."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            # "from . import x" names a module when x is one
            targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            targets = targets or [base]
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name inside a module: its module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    return {name: imports_of(path, root, set(files)) for name, path in files.items()}


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    def is_tool(name: str) -> bool:  # __main__ is the door to the CLI (python -m cnn_numpy)
        return name == TOOLS or name.startswith(TOOLS + ".") or name.endswith(".__main__")

    return sorted(
        f"{a} imports {b}"
        for a, deps in graph.items()
        if not is_tool(a)
        for b in deps
        if is_tool(b)
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm).

    A package's ``__init__`` importing its own submodules is not a circle: importing a
    submodule runs its package's ``__init__`` first by necessity, not by an import."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_core_never_imports_a_tool():
    assert wrong_way(import_graph(PACKAGE)) == []


def test_nothing_imports_in_a_circle():
    assert cycles(import_graph(PACKAGE)) == []


def tool_folders(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph with each folder under ``tools/`` as one node: which tool uses which."""

    def folder(name: str) -> str | None:
        parts = name.split(".")
        return ".".join(parts[:3]) if name.startswith(TOOLS + ".") else None

    folders: dict[str, set[str]] = {}
    for a, deps in graph.items():
        if folder(a):
            uses = {folder(b) for b in deps if folder(b) and folder(b) != folder(a)}
            folders.setdefault(folder(a), set()).update(uses)
    return folders


def test_tools_stand_in_floors():
    """One tool may use another, never both ways round (explain uses visualize's figures,
    so visualize may not use explain): the folders under tools/ form no circle either."""
    assert cycles(tool_folders(import_graph(PACKAGE))) == []


def test_no_file_is_over_300_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*")
        if p.suffix in (".py", ".js", ".css", ".html")
        and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "cnn_numpy"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    "line",
    [
        "from .tools.saving import save\n",
        "from cnn_numpy.tools import saving\n",
        "def f():\n    from .tools.saving.files import save\n",  # a function-level import counts
        "import cnn_numpy.tools.saving.files\n",
    ],
)
def test_a_planted_wrong_way_import_is_found(tmp_path, line):
    root = plant(
        tmp_path,
        {
            "__init__.py": "",
            "model.py": line,
            "tools/__init__.py": "",
            "tools/saving/__init__.py": "from .files import save\n",
            "tools/saving/files.py": "from ...model import x\n",  # the right way: fine
        },
    )
    found = wrong_way(import_graph(root))
    assert len(found) == 1 and found[0].startswith("cnn_numpy.model imports cnn_numpy.tools")


def test_a_planted_circle_is_found_and_named(tmp_path):
    root = plant(
        tmp_path,
        {
            "__init__.py": "",
            "model.py": "def summary():\n    from .summary import table\n",
            "summary.py": "from .model import count\n",
            "layers/__init__.py": "from .conv import Conv2d\n",  # a package face: no circle
            "layers/conv.py": "from ..model import x\n",
        },
    )
    assert cycles(import_graph(root)) == [["cnn_numpy.model", "cnn_numpy.summary"]]
