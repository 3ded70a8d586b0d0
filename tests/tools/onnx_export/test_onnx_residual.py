"""ONNX export of Residual blocks (their branches, then an Add node) and AdaptiveAvgPool2d,
run by onnxruntime and compared with cnn-numpy's eval-mode outputs."""

import numpy as np
import pytest
from helpers.onnx_helpers import BATCH_SIZES, need, run_onnx

import cnn_numpy as cnn
from cnn_numpy import (
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    ReLU,
    Residual,
    Sequential,
)


def with_statistics(model, input_shape, rng):
    """Running statistics far from 0 and 1 in every BatchNorm, inside the Residuals too."""
    for key, value in model.state_dict().items():
        if key.endswith(".weight") and value.ndim == 1:  # a BatchNorm's scale
            dict(model.named_parameters())[key].data[...] = rng.uniform(0.5, 2.0, value.shape)
    model.train()
    for _ in range(3):
        model(rng.normal(0.7, 2.0, (8, *input_shape)).astype(np.float32))
    return model.eval()


CASES = {
    "resnet-28": (lambda: cnn.resnet(rng=0), (1, 28, 28)),
    "resnet-32-rgb": (lambda: cnn.resnet(10, in_channels=3, image_size=32, rng=0), (3, 32, 32)),
    "identity-shortcut": (
        lambda: Sequential(
            Residual(Sequential(Conv2d(2, 2, 3, padding=1, rng=0), ReLU())), ReLU(), Flatten()
        ),
        (2, 5, 5),
    ),
    "single-layer-branches": (
        lambda: Sequential(
            Residual(Conv2d(2, 4, 3, padding=1, rng=0), Conv2d(2, 4, 1, rng=1)),
            AdaptiveAvgPool2d((2, 3)),
            Flatten(),
        ),
        (2, 6, 9),
    ),
    "adaptive-none": (  # PyTorch's (None, 3): the rows kept, the columns pooled to 3
        lambda: Sequential(
            Conv2d(2, 2, 3, padding=1, rng=0), AdaptiveAvgPool2d((None, 3)), Flatten()
        ),
        (2, 5, 9),
    ),
    "nested-residual": (
        lambda: Sequential(
            Residual(Sequential(Residual(Sequential(Conv2d(2, 2, 3, padding=1, rng=0))), ReLU())),
            AdaptiveAvgPool2d(1),
            Flatten(),
        ),
        (2, 4, 4),
    ),
    "sequential-inside-sequential": (
        lambda: Sequential(
            Sequential(Conv2d(2, 3, 3, padding=1, rng=0), BatchNorm2d(3), ReLU()),
            Residual(Sequential(Sequential(Conv2d(3, 3, 3, padding=1, rng=1)), ReLU())),
            Sequential(AdaptiveAvgPool2d(1), Flatten()),
        ),
        (2, 5, 5),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_exported_residual_nets_equal_ours(tmp_path, name):
    need("onnx")
    make, shape = CASES[name]
    model = with_statistics(make(), shape, np.random.default_rng(0))
    path = cnn.export_onnx(model, tmp_path / "m.onnx", input_shape=shape)
    for n in BATCH_SIZES:
        x = np.random.default_rng(n).normal(size=(n, *shape)).astype(np.float32)
        np.testing.assert_allclose(run_onnx(path, x), model(x), rtol=1e-4, atol=1e-5)


def test_a_residual_is_its_branches_and_one_add_node(tmp_path):
    onnx = need("onnx")
    path = cnn.export_onnx(cnn.resnet(rng=0), tmp_path / "r.onnx", input_shape=(1, 28, 28))
    graph = onnx.load(str(path)).graph
    adds = [node for node in graph.node if node.op_type == "Add"]
    assert [node.name for node in adds] == ["3_Residual", "5_Residual"]
    assert adds[0].input[:] == ["3.block.4_BatchNorm2d_out", "3.shortcut.1_BatchNorm2d_out"]
    names = {init.name for init in graph.initializer}
    assert {"3.block.0.weight", "3.shortcut.0.weight", "5.block.4.running_var"} <= names
    assert any(node.op_type == "GlobalAveragePool" for node in graph.node)


def test_an_adaptive_pool_with_uneven_windows_is_a_clear_error(tmp_path):
    need("onnx")
    model = Sequential(AdaptiveAvgPool2d(3), Flatten())
    with pytest.raises(ValueError, match="windows of different sizes"):
        cnn.export_onnx(model, tmp_path / "a.onnx", input_shape=(1, 7, 7))
    assert not (tmp_path / "a.onnx").exists()


def test_an_unknown_layer_inside_a_branch_is_named(tmp_path):
    need("onnx")

    class Mine(ReLU):
        pass

    model = Sequential(Residual(Sequential(BatchNorm2d(2), Mine())), Flatten())
    with pytest.raises(ValueError, match=r"0.block \(1\) is a Mine"):
        cnn.export_onnx(model, tmp_path / "b.onnx", input_shape=(2, 3, 3))
    assert not (tmp_path / "b.onnx").exists()


def test_a_sequential_inside_the_model_keeps_its_state_dict_names(tmp_path):
    onnx = need("onnx")
    model = CASES["sequential-inside-sequential"][0]()
    path = cnn.export_onnx(model, tmp_path / "s.onnx", input_shape=(2, 5, 5))
    names = {init.name for init in onnx.load(str(path)).graph.initializer}
    wanted = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert wanted <= names  # 0.0.weight, 0.1.running_var, 1.block.0.0.weight, ...
