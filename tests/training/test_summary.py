"""Sequential.summary / print(model), and the deep preset as a whole (shapes, PyTorch, save)."""

import numpy as np
import pytest
from helpers import assert_close

from cnn_numpy import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    deep,
)
from cnn_numpy.presets import MODELS


def small_net():
    return Sequential(
        Conv2d(1, 4, 3, rng=0),
        BatchNorm2d(4),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Dropout(0.5, rng=0),
        Linear(4 * 13 * 13, 10, rng=0),
    )


def test_summary_table():
    table = small_net().summary((2, 1, 28, 28))
    lines = table.splitlines()
    assert lines[0].split() == ["Layer", "Output", "shape", "Parameters"]
    assert "input" in lines[2] and "(2, 1, 28, 28)" in lines[2]
    assert "(0)" in lines[3] and "(2, 4, 26, 26)" in lines[3] and lines[3].endswith(" 40")
    assert "BatchNorm2d(4" in lines[4] and lines[4].endswith(" 8")
    assert "(2, 4, 13, 13)" in lines[6] and "(2, 676)" in lines[7]
    assert "(2, 10)" in lines[-2] and lines[-2].endswith("6,770")
    assert lines[-1] == f"Total parameters: {40 + 8 + 6770:,}"


def test_print_model_shows_layers_and_parameter_counts():
    text = repr(small_net())
    assert "(0): Conv2d(1, 4, kernel_size=(3, 3))  # 40 parameters" in text
    assert "(2): ReLU()\n" in text
    assert "# total: 6,818 parameters" in text


def test_summary_names_the_first_layer_that_breaks_with_the_formula():
    model = Sequential(
        Conv2d(1, 8, 5),
        MaxPool2d(2),
        Conv2d(8, 8, 5),
        MaxPool2d(2),
        MaxPool2d(2),
        Conv2d(8, 8, 3),
        Flatten(),
        Linear(8, 2),
    )
    with pytest.raises(ValueError) as err:
        model.summary((1, 1, 28, 28))
    message = str(err.value)
    assert message.startswith(
        "layer (5) Conv2d(8, 8, kernel_size=(3, 3)) does not fit its input (1, 8, 2, 2)"
    )
    assert (
        "H_out = floor((H + 2*padding - kernel) / stride) + 1 = "
        "floor((2 + 2*0 - 3) / 1) + 1 = 0" in message
    )
    assert "(4)  MaxPool2d" in message  # the table up to the break
    assert "(6)" not in message


def test_summary_explains_a_flatten_linear_mismatch():
    model = Sequential(Conv2d(1, 8, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 14 * 14, 2))
    with pytest.raises(ValueError, match=r"layer \(4\) Linear\(in_features=1568") as err:
        model.summary((1, 1, 28, 28))
    assert (
        "Flatten turns (1, 8, 13, 13) into C*H*W = 8 * 13 * 13 = 1352 features, but the "
        "layer has in_features=1568"
    ) in str(err.value)


def test_deep_preset_shapes_and_registration():
    assert MODELS["deep"] is deep
    model = deep(rng=0)
    assert model.output_shape((3, 1, 28, 28)) == (3, 10)
    assert model(np.zeros((3, 1, 28, 28), dtype=np.float32)).dtype == np.float32
    assert "Total parameters: 161,398" in model.summary((1, 1, 28, 28))
    assert deep(in_channels=3, image_size=32, width=8, rng=0).output_shape((1, 3, 32, 32)) == (
        1,
        10,
    )


def test_deep_preset_save_and_load_keeps_buffers(tmp_path):
    from cnn_numpy.tools.saving import model_files as serialization

    rng = np.random.default_rng(0)
    model = deep(image_size=12, width=4, rng=0)
    model.forward(rng.standard_normal((8, 1, 12, 12)).astype(np.float32))  # running stats move
    path = serialization.save(model, tmp_path / "deep.npz")
    loaded = serialization.load(path)
    x = rng.standard_normal((2, 1, 12, 12)).astype(np.float32)
    model.eval(), loaded.eval()
    assert_close(loaded.forward(x), model.forward(x), "loaded deep net, eval mode")
    assert int(loaded.state_dict()["1.num_batches_tracked"]) == 1


def test_deep_preset_matches_torch_in_eval_mode():
    """The whole preset, float64, after a few train-mode steps: same logits as PyTorch."""
    torch = pytest.importorskip("torch")
    from helpers.torch_twin import to_torch

    rng = np.random.default_rng(1)
    model = deep(image_size=12, width=4, rng=0, dtype=np.float64)
    for _ in range(2):
        model.forward(rng.standard_normal((6, 1, 12, 12)))
    twin = to_torch(model).eval()
    model.eval()
    x = rng.standard_normal((3, 1, 12, 12))
    assert_close(model.forward(x), twin(torch.from_numpy(x)), "deep preset logits")


def test_summary_shows_a_residuals_two_branches_indented():
    from cnn_numpy import resnet

    table = resnet(rng=0).summary((1, 1, 28, 28))
    lines = table.splitlines()
    residual = next(i for i, line in enumerate(lines) if "Residual" in line)
    assert "(1, 32, 14, 14)" in lines[residual]
    assert lines[residual + 1].lstrip().startswith("block (0) Conv2d(16, 32")
    assert lines[residual + 1].index("block") > lines[residual].index("Residual")
    assert any(
        line.lstrip().startswith("shortcut (0) Conv2d(16, 32, kernel_size=(1, 1)") for line in lines
    )
    assert table.endswith("Total parameters: 73,082")


def test_summary_names_an_identity_shortcut():
    from cnn_numpy import Conv2d, Residual, Sequential

    table = Sequential(Residual(Sequential(Conv2d(2, 2, 3, padding=1)))).summary((1, 2, 5, 5))
    assert "shortcut: identity" in table


def test_summary_of_a_residual_inside_a_residual_keeps_one_line_a_layer():
    from cnn_numpy import Residual

    inner = Residual(Sequential(Conv2d(2, 2, 3, padding=1), ReLU()))
    outer = Residual(Sequential(inner, Conv2d(2, 4, 3, stride=2, padding=1)), Conv2d(2, 4, 1, 2))
    table = Sequential(outer).summary((1, 2, 6, 6))
    lines = table.splitlines()
    assert len(lines) == 11, table  # header, rule, input, outer, its 2 rows + the inner's 3, total
    nested = next(line for line in lines if line.lstrip().startswith("block (0)"))
    assert "block (0) Residual: block(x) + shortcut(x)" in nested and "(1, 2, 6, 6)" in nested
    inner_rows = [line for line in lines if line.startswith(" " * 9 + "block (0) Conv2d(2, 2")]
    assert len(inner_rows) == 1, table  # the inner block's layers, indented once more
    assert "(shortcut): Identity()" not in table  # no multi-line repr inside the table


def test_summary_names_a_one_layer_branch_as_its_state_dict_keys_do():
    """``Residual(Conv2d(...), Conv2d(...))``'s keys are ``0.block.weight`` and
    ``0.shortcut.weight``: its rows said ``block (0)`` and ``shortcut (0)``, a Sequential's."""
    from cnn_numpy import Residual

    model = Sequential(Residual(Conv2d(2, 4, 3, stride=2, padding=1), Conv2d(2, 4, 1, stride=2)))
    rows = [line.strip() for line in model.summary((1, 2, 6, 6)).splitlines()]
    assert any(row.startswith("block Conv2d(2, 4, kernel_size=(3, 3)") for row in rows), rows
    assert any(row.startswith("shortcut Conv2d(2, 4, kernel_size=(1, 1)") for row in rows), rows
    assert {"0.block.weight", "0.shortcut.weight"} <= set(model.state_dict())


def test_summary_names_a_sequential_inside_a_residual_on_one_row():
    from cnn_numpy import Residual

    block = Sequential(Sequential(Conv2d(2, 2, 3, padding=1), ReLU()), Conv2d(2, 2, 1))
    table = Sequential(Residual(block)).summary((1, 2, 5, 5))
    assert "block (0) Sequential of 2 layers" in table and "(1, 2, 5, 5)" in table
    assert len(table.splitlines()) == 8, table  # header, rule, input, Residual, 3 rows, total


def test_an_empty_sequential_prints_as_in_torch():
    """It printed 'Sequential(', an empty line and ')'."""
    assert repr(Sequential()) == "Sequential()"
    assert (
        repr(Sequential(Sequential()))
        == "Sequential(\n  (0): Sequential()\n  # total: 0 parameters\n)"
    )


def test_a_nested_sequential_that_does_not_fit_names_its_inner_layer_and_why():
    """It printed the inner Sequential's whole repr and not which of its layers failed."""
    model = Sequential(Conv2d(1, 2, 3, rng=0), Sequential(Flatten(), Linear(10, 2, rng=0)))
    with pytest.raises(ValueError) as err:
        model.summary((1, 1, 28, 28))
    message = str(err.value)
    first = message.splitlines()[0]
    assert first.startswith("layer (1) Sequential of 2 layers (print(model) lists them) does "
                            "not fit its input (1, 2, 26, 26): inside it, layer (1) Linear")  # fmt: skip
    assert "C*H*W = 2 * 26 * 26 = 1352 features, but the layer has in_features=10" in message
    assert "Shapes up to layer (1):" in message
