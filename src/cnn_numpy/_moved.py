"""Old module paths keep working: ``cnn_numpy.saving`` is now ``cnn_numpy.tools.saving``, and so on.

The tools moved under ``cnn_numpy/tools/`` (2026-12).  So that ``import cnn_numpy.saving`` or
``from cnn_numpy.visualize import plot_filters`` in a learner's notebook still works, this module
puts one finder on ``sys.meta_path`` when ``cnn_numpy`` is imported.  It answers only for the
old names below (and their submodules) and hands back the module at its new path: the same
module object, loaded once.  It changes nothing else.  New code should use the new paths.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

MOVED = {
    "cnn_numpy.cli": "cnn_numpy.tools.cli",
    "cnn_numpy.live": "cnn_numpy.tools.live",
    "cnn_numpy.doctor": "cnn_numpy.tools.doctor",
    "cnn_numpy.novelty": "cnn_numpy.tools.novelty",
    "cnn_numpy.visualize": "cnn_numpy.tools.visualize",
    "cnn_numpy.speed": "cnn_numpy.tools.speed",
    "cnn_numpy.saving": "cnn_numpy.tools.saving",
    "cnn_numpy.exercises": "cnn_numpy.tools.exercises",
    "cnn_numpy.explain": "cnn_numpy.tools.explain",
    "cnn_numpy.visualize.summary": "cnn_numpy.summary",
    "cnn_numpy.saving.atomic": "cnn_numpy.data.atomic",
    "cnn_numpy.tools.explain.backprop": "cnn_numpy.tools.input_gradients.backprop",
    "cnn_numpy.saving.to_onnx": "cnn_numpy.tools.onnx_export.to_onnx",
    "cnn_numpy.saving.onnx_layers": "cnn_numpy.tools.onnx_export.onnx_layers",
    **{
        f"cnn_numpy.data.{name}": f"cnn_numpy.tools.photos.{name}"
        for name in [
            "images",
            "image_files",
            "lighting",
            "sheet",
            "ink",
            "components",
            "morphology",
        ]
    },
}


def new_path(name: str) -> str | None:
    """The module's path today, or None when ``name`` did not move."""
    for old in sorted(MOVED, key=len, reverse=True):
        if name == old or name.startswith(old + "."):
            return MOVED[old] + name[len(old) :]
    return None


class _Alias:  # a meta path finder and loader (duck-typed: importlib.abc costs 25 ms to import)
    def find_spec(self, fullname, path=None, target=None):
        new = new_path(fullname) if fullname.startswith("cnn_numpy.") else None
        return importlib.util.spec_from_loader(fullname, self) if new else None

    def create_module(self, spec):
        module = importlib.import_module(new_path(spec.name))
        spec.loader_state = module.__spec__  # the import system will set the alias's spec ...
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # ... so give the module back its own


if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Alias())
