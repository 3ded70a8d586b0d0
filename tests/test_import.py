"""``import cnn_numpy`` loads the core only; the tools' names load on first use; module paths
from before the house moved still import, as the same modules."""

import subprocess
import sys

import pytest

import cnn_numpy


def loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_import_cnn_numpy_loads_no_tool_and_no_heavy_package():
    loaded = loaded_after("import cnn_numpy")
    heavy = {"PIL", "matplotlib", "tqdm", "http.server", "selenium", "onnx", "torch"}
    assert not loaded & heavy
    assert not [m for m in loaded if m.startswith("cnn_numpy.tools")]
    assert "cnn_numpy.layers.conv" in loaded and "cnn_numpy.train" in loaded


@pytest.mark.parametrize("name", cnn_numpy.__all__)
def test_every_public_name_is_there(name):
    assert getattr(cnn_numpy, name) is not None


def test_a_tools_name_loads_its_tool_only_when_asked():
    loaded = loaded_after("import cnn_numpy\ncnn_numpy.write_report")
    assert "cnn_numpy.tools.visualize.report" in loaded


@pytest.mark.parametrize(
    "old, new",
    [
        ("cnn_numpy.saving", "cnn_numpy.tools.saving"),
        ("cnn_numpy.saving.model_files", "cnn_numpy.tools.saving.model_files"),
        ("cnn_numpy.saving.to_onnx", "cnn_numpy.tools.onnx_export.to_onnx"),
        ("cnn_numpy.visualize", "cnn_numpy.tools.visualize"),
        ("cnn_numpy.visualize.summary", "cnn_numpy.summary"),
        ("cnn_numpy.data.images", "cnn_numpy.tools.photos.images"),
        ("cnn_numpy.cli", "cnn_numpy.tools.cli"),
        ("cnn_numpy.explain", "cnn_numpy.tools.explain"),
        ("cnn_numpy.exercises", "cnn_numpy.tools.exercises"),
        ("cnn_numpy.tools.explain.backprop", "cnn_numpy.tools.input_gradients.backprop"),
        ("cnn_numpy.explain.backprop", "cnn_numpy.tools.input_gradients.backprop"),
    ],
)
def test_old_module_paths_import_the_same_module(old, new):
    import importlib

    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__name__ == new and module.__spec__.name == new  # its own, not the alias's


def test_from_an_old_path_import_a_name():
    from cnn_numpy.saving import load, save  # noqa: F401
    from cnn_numpy.visualize import plot_filters  # noqa: F401

    from cnn_numpy.tools.visualize import plot_filters as today

    assert plot_filters is today


def test_a_path_that_never_was_is_still_an_error():
    with pytest.raises(ModuleNotFoundError):
        import cnn_numpy.no_such_module  # noqa: F401
