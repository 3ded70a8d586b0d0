"""``cnn-numpy gradcheck``: passes on every preset, and names the layer whose backward is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_numpy import Conv2d, Dropout, Flatten, Linear, ReLU, Sequential
from cnn_numpy.layers.base import Layer
from cnn_numpy.presets import MODELS
from cnn_numpy.tools.cli import main
from cnn_numpy.tools.cli.gradcheck import check_model, format_table


@pytest.mark.parametrize("model", sorted(MODELS))
def test_gradcheck_passes_on_every_preset(model, capsys):
    assert main(["gradcheck", "--model", model]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "OK: all" in out
    assert "whole model + loss" in out and "CrossEntropyLoss" in out


def test_table_lists_every_layer_and_parameter(capsys):
    main(["gradcheck", "--model", "seed"])
    out = capsys.readouterr().out
    for row in ("0: Conv2d", "1: ReLU()", "2: MaxPool2d", "3: Flatten()", "4: Linear"):
        assert row in out
    conv_rows = [line.split()[-3] for line in out.splitlines() if line.startswith("0: Conv2d")]
    assert conv_rows == ["input", "weight", "bias"]


def test_wrong_relu_backward_fails_naming_the_layer(monkeypatch, capsys):
    # forgets the mask: passes the gradient through where x < 0 too
    monkeypatch.setattr(ReLU, "backward", lambda self, grad_out: grad_out)
    assert main(["gradcheck", "--model", "seed"]) == 1
    out = capsys.readouterr().out
    assert "first failing layer is 1: ReLU() (gradient of input" in out


class LinearWithoutBiasGrad(Linear):
    """A deliberately wrong backward: the bias gradient is never accumulated."""

    def backward(self, grad_out):
        g = grad_out.astype(self.weight.data.dtype, copy=False)
        self.weight.grad += g.T @ self.x
        return g @ self.weight.data


def test_swapped_in_wrong_layer_fails_naming_it(monkeypatch, capsys):
    build_seed = MODELS["seed"]

    def broken_seed(**kwargs):
        model = build_seed(**kwargs)
        good = model.layers[-1]
        bad = LinearWithoutBiasGrad(good.in_features, good.out_features, dtype=np.float64)
        model.layers[-1] = bad
        return model

    monkeypatch.setitem(MODELS, "seed", broken_seed)
    assert main(["gradcheck", "--model", "seed"]) == 1
    out = capsys.readouterr().out
    assert "first failing layer is 4: LinearWithoutBiasGrad(in_features=72" in out
    assert "(gradient of bias: relative error 1.00e+00)" in out
    failing = [line for line in out.splitlines() if line.rstrip().endswith("FAIL")]
    assert len(failing) == 1 and "bias" in failing[0]


def test_dropout_is_checked_in_training_mode_with_its_mask_frozen(monkeypatch, capsys):
    built = []

    def with_dropout(image_size, rng, dtype):
        built.append(
            Sequential(
                Conv2d(1, 2, 3, rng=rng, dtype=dtype),
                ReLU(),
                Dropout(0.5, rng=rng),
                Flatten(),
                Linear(2 * (image_size - 2) ** 2, 3, rng=rng, dtype=dtype),
            )
        )
        return built[-1]

    monkeypatch.setitem(MODELS, "seed", with_dropout)
    assert main(["gradcheck", "--model", "seed"]) == 0
    out = capsys.readouterr().out
    assert "2: Dropout(p=0.5)" in out and out.count("(Dropout mask frozen)") == 2
    dropout = built[-1][2]
    assert "forward" not in vars(dropout)  # the freeze is undone afterwards
    assert dropout.training  # and it was checked in training mode


def test_a_residual_that_forgets_its_shortcut_gradient_fails_by_name(monkeypatch, capsys):
    from cnn_numpy import Residual

    def only_the_block(self, grad_out):  # drops the second term of the sum
        return self.block.backward(grad_out)

    monkeypatch.setattr(Residual, "backward", only_the_block)
    assert main(["gradcheck", "--model", "resnet"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: first failing layer is 3: Residual (gradient of input" in out


def test_a_batch_of_one_for_a_batch_norm_net_is_refused_up_front(capsys):
    assert main(["gradcheck", "--model", "deep", "--batch-size", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # before the header: nothing was checked
    assert err.startswith("error: --batch-size 1 is too small for the deep net: BatchNorm1d(")
    assert "batches of 2 or more" in err and "Traceback" not in err


def test_a_batch_of_one_on_maps_of_one_pixel_also_names_the_image_size(capsys):
    assert main(["gradcheck", "--model", "resnet", "--batch-size", "1", "--image-size", "4"]) == 2
    err = capsys.readouterr().err
    assert "error: --batch-size 1 is too small for the resnet net: BatchNorm2d(" in err
    assert err.rstrip().endswith("or give a larger --image-size, so BatchNorm2d's maps hold more "
                                 "than one value")  # fmt: skip
    assert main(["gradcheck", "--model", "deep", "--batch-size", "1"]) == 2
    assert "--image-size" not in capsys.readouterr().err  # BatchNorm1d: the batch alone


def test_a_batch_of_one_is_fine_for_a_net_whose_batch_norm_sees_pixels(capsys):
    assert main(["gradcheck", "--model", "resnet", "--batch-size", "1"]) == 0  # BatchNorm2d only
    assert "OK: all" in capsys.readouterr().out


def test_the_table_keeps_its_columns_with_a_residuals_long_parameter_names():
    from cnn_numpy.tools.cli.gradcheck import format_table

    rows = [
        ("3: Residual", "input", 1e-9, ""),
        ("3: Residual", "shortcut.1.weight", 2e-9, ""),
        ("4: ReLU()", "input", 3e-9, ""),
    ]
    lines = format_table(rows, 1e-6).splitlines()
    ends = {line.index("e-09") for line in lines[2:]}  # where each row's error ends
    assert len(ends) == 1, "\n".join(lines)
    assert all(line.endswith("pass") for line in lines[2:])
    assert lines[1].split()[1] == "-" * len("shortcut.1.weight")


class Sharp(Layer):
    """sin(x / a): its third derivative is 1/a^3, so central differences at h are off by
    h^2 / (6 a^2) relative to the gradient: 1.9e-6 at h=1e-6 for a=3e-4, 1.9e-8 at 1e-7."""

    a = 3e-4

    def __init__(self, wrong: float = 1.0):
        self.wrong = wrong  # 1: the right backward; anything else: a wrong one

    def forward(self, x):
        self.x = x
        return np.sin(x / self.a)

    def backward(self, grad_out):
        return grad_out * np.cos(self.x / self.a) / self.a * self.wrong

    def output_shape(self, input_shape):
        return input_shape


def sharp_net(wrong: float = 1.0) -> Sequential:
    return Sequential(Sharp(wrong), Flatten(), Linear(4, 3, rng=0, dtype=np.float64))


def test_a_sharp_curve_is_checked_again_with_a_smaller_step():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 1, 2, 2)) * 1e-3, np.array([0, 2])
    rows = check_model(sharp_net(), x, y, rng)
    layer, name, err, note = rows[0]
    assert (layer, name) == ("0: Sharp()", "input") and err < 1e-7
    assert note.startswith("at h=1e-07; ") and note.endswith("at h=1e-06 was the curve")
    assert 1e-6 < float(note.split("; ")[1].split()[0]) < 1e-5  # the first step's error


@pytest.mark.parametrize("wrong", [0.5, 1.001])
def test_a_wrong_backward_is_wrong_at_the_smaller_step_too(wrong):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 1, 2, 2)) * 1e-3, np.array([0, 2])
    rows = check_model(sharp_net(wrong), x, y, rng)
    layer, name, err, note = rows[0]
    assert err > 1e-4 and note == ""
    assert format_table(rows, 1e-6).splitlines()[2].endswith("FAIL")


def test_workload_counts_every_number_the_check_nudges():
    from cnn_numpy.tools.cli.gradcheck import workload

    model = MODELS["seed"](image_size=8, rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    numbers, seconds = workload(model, x)
    # the image through the whole model (128), then each layer's input and parameters:
    # Conv2d 128 + 8*9 + 8, ReLU 2*8*6*6, MaxPool2d the same, Flatten 2*8*3*3, Linear 144 + 146
    assert numbers == 128 + (128 + 80) + 576 + 576 + 144 + (144 + 146)
    assert 0 < seconds < 60


def test_a_check_of_hours_says_so_before_it_starts(monkeypatch, capsys):
    """lenet at 64x64 nudges 1.5 million numbers: the note comes before the silence, and
    Ctrl-C (raised here where the check would start) ends it without a traceback."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("cnn_numpy.tools.cli.gradcheck.check_model", interrupted)
    assert main(["gradcheck", "--model", "lenet", "--image-size", "64"]) == 130
    captured = capsys.readouterr()
    assert "note: this check nudges 1,530,442 numbers, two forward passes each: roughly" in (
        captured.out
    )
    assert "A smaller --image-size checks the same code sooner" in captured.out
    assert "Interrupted." in captured.err and "Traceback" not in captured.err


def test_the_default_check_has_no_note(capsys):
    assert main(["gradcheck", "--model", "lenet"]) == 0
    assert "note:" not in capsys.readouterr().out


@pytest.mark.parametrize("model", sorted(MODELS))
def test_an_image_size_too_small_names_the_smallest_that_works(model, capsys):
    """The seed net said "1 blocks shrink a 1x1 image to nothing; use fewer blocks": advice
    gradcheck has no flag for, and one block is the fewest."""
    assert main(["gradcheck", "--model", model, "--image-size", "1"]) == 2
    err = capsys.readouterr().err
    smallest = int(err.split("the smallest size it takes is ")[1].split()[0])
    assert "fewer blocks" not in err and "Traceback" not in err
    assert main(["gradcheck", "--model", model, "--image-size", str(smallest)]) == 0
    assert main(["gradcheck", "--model", model, "--image-size", str(smallest - 1)]) == 2
