"""ONNX export from the command line, and every way it can go wrong: an unknown layer, no
onnx package, bad paths, a wrong input shape.  Nothing half-written is ever left behind."""

import subprocess
import sys

import numpy as np
import pytest
from helpers.model_files import save_mnist_lenet
from helpers.onnx_helpers import need, run_onnx

import cnn_numpy as cnn
from cnn_numpy import Conv2d, Flatten, Layer, Linear, ReLU, Sequential
from cnn_numpy.tools.cli import main

#: what every "install onnx" hint says (the rest names this Python's pip and the checkout)
MISSING_EXTRA = "pip install onnx"


class Squash(Layer):
    """A user's own layer: export cannot know what its forward computes."""

    def forward(self, x):
        return x / (1 + abs(x))


class MyReLU(ReLU):
    """A subclass may compute something else than its parent: not exported as a ReLU."""


@pytest.fixture
def saved(tmp_path):
    """A LeNet saved with a full model card, as `cnn-numpy train` saves it."""
    return save_mnist_lenet(tmp_path / "model.npz")


@pytest.fixture
def no_onnx(monkeypatch):
    """As if the onnx extra were not installed: ``import onnx`` fails."""
    monkeypatch.setitem(sys.modules, "onnx", None)


def test_import_cnn_numpy_never_imports_onnx():
    code = (
        "import sys, cnn_numpy; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxruntime')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.parametrize("layer", [Squash(), MyReLU()], ids=["own-layer", "subclass"])
def test_an_unknown_layer_is_named_and_nothing_is_written(layer, tmp_path):
    need("onnx")
    model = Sequential(Conv2d(1, 2, 3, rng=0), layer, Flatten(), Linear(2 * 4 * 4, 2, rng=0))
    path = tmp_path / "m.onnx"
    with pytest.raises(
        ValueError,
        match=f"layer 1 is a {type(layer).__name__} .*does not "
        "know; it knows AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d",
    ):
        cnn.export_onnx(model, path, (1, 6, 6))
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"the previous export")  # an old file stays as it was
    with pytest.raises(ValueError, match=type(layer).__name__):
        cnn.export_onnx(model, path, (1, 6, 6))
    assert path.read_bytes() == b"the previous export" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    "model, message",
    [
        (
            Conv2d(1, 2, 3),
            "must be a Sequential .* got Conv2d; for a single layer, export "
            r"Sequential\(layer\)",
        ),
        (Sequential(), "no layers"),
        ("not a model at all.txt", "no such model file"),
    ],
)
def test_what_is_not_a_model(model, message, tmp_path):
    need("onnx")
    with pytest.raises((ValueError, OSError), match=message):
        cnn.export_onnx(model, tmp_path / "m.onnx", (1, 6, 6))
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize(
    "shape, message",
    [
        (None, "give input_shape"),
        ((1, 20, 20), r"does not fit layer 7: Linear.*1568.*\(1, 800\)"),
        ((1, 1, 28, 28), "does not fit layer 0"),
        ((1, 0, 28), "positive sizes"),
        ("1x28x28", "whole numbers"),
    ],
)
def test_an_input_shape_the_model_does_not_take(shape, message, tmp_path):
    need("onnx")
    with pytest.raises(ValueError, match=message):
        cnn.export_onnx(cnn.lenet(rng=0), tmp_path / "m.onnx", shape)
    assert not (tmp_path / "m.onnx").exists()


def test_bad_output_paths(saved, tmp_path):
    need("onnx")
    with pytest.raises(IsADirectoryError, match="is a folder; give the file to write"):
        cnn.export_onnx(saved, tmp_path)
    with pytest.raises(ValueError, match="would overwrite the model file"):
        cnn.export_onnx(saved, saved)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        cnn.export_onnx(saved, tmp_path / "file" / "m.onnx")
    nested = cnn.export_onnx(saved, tmp_path / "new" / "folder" / "m.onnx")  # folders made
    assert nested.is_file() and [p.name for p in nested.parent.iterdir()] == ["m.onnx"]


def test_without_the_extra_export_onnx_says_what_to_install(no_onnx, tmp_path):
    with pytest.raises(ModuleNotFoundError, match=MISSING_EXTRA) as info:
        cnn.export_onnx(cnn.seed_net(rng=0), tmp_path / "m.onnx", (1, 28, 28))
    assert not (tmp_path / "m.onnx").exists()
    assert "cnn-numpy[onnx]" not in str(info.value)  # not on an index: that would fail


def test_without_the_extra_the_command_says_what_to_install(no_onnx, saved, tmp_path, capsys):
    assert main(["export", str(saved), str(tmp_path / "m.onnx")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: exporting to ONNX needs the onnx package: ")
    assert MISSING_EXTRA in err and "cnn-numpy[onnx]" not in err and err.count("\n") == 1


def test_the_command_writes_a_file_onnxruntime_runs(saved, tmp_path, capsys):
    need("onnx")
    out_path = tmp_path / "lenet.onnx"
    assert main(["export", str(saved), str(out_path)]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {out_path}" in out and "input (batch,1,28,28) float32 -> logits" in out
    assert f"netron {out_path}" in out and "https://netron.app" in out
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(out_path, x), cnn.load(saved)(x), rtol=1e-5, atol=1e-5)
    assert main(["export", str(saved), str(out_path), "--softmax"]) == 0
    assert "-> probabilities" in capsys.readouterr().out
    np.testing.assert_allclose(run_onnx(out_path, x).sum(axis=1), 1, rtol=1e-5)


def test_the_input_shape_flag_when_the_card_has_none(tmp_path, capsys):
    need("onnx")
    path = cnn.save(cnn.seed_net(rng=0), tmp_path / "bare.npz")
    assert main(["export", str(path), str(tmp_path / "m.onnx")]) == 2
    assert "card has no input_shape; pass it with --input-shape C,H,W" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
    assert main(["export", str(path), str(tmp_path / "m.onnx"), "--input-shape", "1,28,28"]) == 0
    assert run_onnx(tmp_path / "m.onnx", np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 2)


def test_the_command_notes_a_float64_model(tmp_path, capsys):
    need("onnx")
    path = cnn.save(
        cnn.seed_net(rng=0, dtype=np.float64), tmp_path / "f64.npz", input_shape=[1, 28, 28]
    )
    assert main(["export", str(path), str(tmp_path / "m.onnx")]) == 0
    out, err = capsys.readouterr()
    assert "note: the model is float64; it is exported as float32" in out and err == ""


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["missing.npz", "m.onnx"], 1, "no such model file: missing.npz"),
        (["model.npz", "model.npz"], 1, "would overwrite it"),
        (["model.npz", "."], 1, "is a folder; give the file to write"),
        (["model.npz", "m.onnx", "--input-shape", "1,20,20"], 1, "does not fit layer 7"),
        (["model.npz", "m.onnx", "--input-shape", "a,b"], 2, "must be positive sizes"),
        (["model.npz", "m.onnx", "--input-shape", "1,-2,3"], 2, "must be positive sizes"),
        (["junk.npz", "m.onnx"], 1, "not a cnn-numpy model file"),
        (["model.npz", "junk.npz/m.onnx"], 1, "cannot write junk.npz/m.onnx: junk.npz is a file"),
    ],
)
def test_command_errors_are_one_line_on_stderr(args, code, message, saved, tmp_path, monkeypatch):
    need("onnx")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_numpy", "export", *args], capture_output=True, text=True
    )
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "m.onnx").exists()


def test_a_different_input_shape_than_training_is_noted(tmp_path, capsys):
    need("onnx")
    model = Sequential(Conv2d(1, 2, 3, padding=1, rng=0), ReLU())  # any image size works
    path = cnn.save(model, tmp_path / "conv.npz", input_shape=[1, 28, 28])
    assert main(["export", str(path), str(tmp_path / "m.onnx"), "--input-shape", "1,8,8"]) == 0
    assert "note: exported for input shape (1, 8, 8); the model was trained on (1, 28, 28)" in (
        capsys.readouterr().out
    )
    assert run_onnx(tmp_path / "m.onnx", np.ones((1, 1, 8, 8), np.float32)).shape == (1, 2, 8, 8)
