"""The learner's files as text: where a function is defined, which packages a file imports
that the workbook does not allow, where else in the workbook a function was written (a
learner who wrote ``relu_forward`` into ``linear.py`` sees it named); and ``load_source``,
which runs a file from its text as it is now."""

from __future__ import annotations

import ast
import difflib
import types
from importlib import resources
from pathlib import Path

#: packages that would do the exercise for the learner: a deep-learning framework, or this
#: library itself (its layers are the answers the grader compares with)
NOT_ALLOWED = ("torch", "tensorflow", "keras", "jax", "mxnet", "cnn_numpy")


def parsed(path: Path) -> ast.Module | None:
    """The file's syntax tree; None if it cannot be read or parsed (loading it will say why)."""
    try:
        return ast.parse(Path(path).read_bytes())  # bytes: a BOM or a coding line is honoured
    except (OSError, SyntaxError, ValueError):
        return None


def def_line(path: str, function: str) -> str:
    """``path:line`` of ``def function`` in the learner's file, or ``path``."""
    tree = parsed(Path(path))
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return f"{path}:{node.lineno}"
    return path


def is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``: a learner's own try-out, which the grader never runs."""
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
    )


def imports_not_allowed(path: Path, seen: set | None = None) -> tuple[str, Path, int] | None:
    """``(package, file, line)`` of the first import of a package in ``NOT_ALLOWED`` that the
    grader would run (anywhere but an ``if __name__ == "__main__":`` block), in ``path`` or
    in a helper module of the learner's beside it that it imports; None if there is none."""
    path, seen = Path(path), seen if seen is not None else set()
    seen.add(path.resolve())
    tree = parsed(path)
    todo = list(tree.body) if tree is not None else []
    while todo:
        node = todo.pop(0)
        if is_main_block(node):
            todo += node.orelse
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in NOT_ALLOWED:
                return name.split(".")[0], path, node.lineno
            helper = path.parent / f"{name.split('.')[0]}.py"  # the learner's own module
            if helper.is_file() and helper.resolve() not in seen:
                if found := imports_not_allowed(helper, seen):
                    return found
        todo += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
    return None


def defined_elsewhere(folder: Path, function: str, own_file: str) -> list[str]:
    """The other ``.py`` files of the workbook that define ``function`` (sorted names)."""
    found = []
    for path in sorted(Path(folder).glob("*.py")):
        if path.name == own_file:
            continue
        tree = parsed(path)
        if tree is not None and any(
            isinstance(node, ast.FunctionDef) and node.name == function for node in tree.body
        ):
            found.append(path.name)
    return found


def misnamed(path: str, function: str) -> str | None:
    """The top-level function of the learner's file whose name is closest to ``function``
    (``linear_backwards`` for ``linear_backward``), if one is close; else None."""
    tree = parsed(Path(path))
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] if tree else []
    close = difflib.get_close_matches(function, names, n=1, cutoff=0.8)
    return close[0] if close else None


def stub_signature(file: str, function: str) -> str:
    """``function(x, kernel_size=2, stride=2)`` as the stub ``file`` declares it: the grader
    calls it so, by these names."""
    text = resources.files(__package__).joinpath("stubs", file).read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return f"{function}({ast.unparse(node.args)})"
    return function


def load_source(path, name: str) -> types.ModuleType:
    """Run the learner's file as a module named ``name``, compiled from its text as it is now.

    Not through the import system: that reads ``__pycache__/<file>.pyc`` when the file's
    modification time (in whole seconds) and size match, so an edit of the same length made
    within a second of the last check (``x > 0`` to ``x < 0``) would be graded from the old
    code; and it would write ``__pycache__`` into the learner's folder.
    """
    module = types.ModuleType(name)
    module.__file__ = str(path)
    code = compile(Path(path).read_bytes(), str(path), "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module
