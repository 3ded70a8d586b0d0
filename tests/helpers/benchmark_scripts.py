"""Load a script of benchmarks/ as a module, so its tests call its functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def load_script(name: str):
    """benchmarks/<name>.py as the module ``<name>_benchmark``.  The folder is on the import
    path while it loads (scripts import their sibling scripts), and the module is in
    sys.modules (a dataclass looks its module up there)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            f"{name}_benchmark", BENCHMARKS / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module
