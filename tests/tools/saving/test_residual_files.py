"""Model files with Residual blocks: saved and loaded exactly, the header naming the nested
layers, checked as untrusted input like the rest (forged nesting is a clear ModelFileError)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import cnn_numpy as cnn
from cnn_numpy.tools.saving.model_files import (
    ModelFileError,
    architecture,
    build,
    load,
    open_npz,
    write_npz,
)


def small_resnet():
    return cnn.resnet(3, width=2, blocks=(1, 1), image_size=8, rng=0)


@pytest.fixture
def saved(tmp_path):
    model = small_resnet()
    cnn.fit(
        model,
        cnn.CrossEntropyLoss(),
        cnn.SGD(model.parameters(), lr=0.1),
        (np.random.default_rng(0).random((8, 1, 8, 8), dtype=np.float32), np.arange(8) % 3),
        epochs=1,
        batch_size=4,
        rng=0,
        callbacks=[],
    )  # running statistics that are not the initial ones
    path = tmp_path / "resnet.npz"
    cnn.save(model, path, class_names=["a", "b", "c"], input_shape=[1, 8, 8])
    return model, path


def forge(path, edit_header):
    header, arrays = open_npz(path)
    edit_header(header)
    write_npz(path, arrays, header)


def test_a_resnet_loads_back_equal(saved):
    model, path = saved
    loaded = load(path)
    assert repr(loaded) == repr(model)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)
    x = np.random.default_rng(1).random((2, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(loaded(x), model.eval()(x))


def test_the_header_names_the_nested_layers(saved):
    header, _ = open_npz(saved[1])
    residual = header["layers"][3]
    assert residual["type"] == "Residual"
    block, shortcut = residual["config"]["block"], residual["config"]["shortcut"]
    assert block["type"] == "Sequential" and block["config"]["layers"][0]["type"] == "Conv2d"
    assert [s["type"] for s in shortcut["config"]["layers"]] == ["Conv2d", "BatchNorm2d"]
    assert "3.block.1.running_var" in header["arrays"]


def test_an_identity_shortcut_round_trips():
    model = cnn.Sequential(cnn.Residual(cnn.Sequential(cnn.Conv2d(2, 2, 3, padding=1, rng=0))))
    rebuilt = build(architecture(model))
    assert rebuilt[0].shortcut is None and repr(rebuilt) == repr(model)


RESIDUAL = 3  # the first Residual of small_resnet


def residual_config(h):
    return h["layers"][RESIDUAL]["config"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda h: residual_config(h)["block"]["config"]["layers"][0].update(type="Eval"),
            r"layer 3 block \(0\) has unknown type 'Eval'",
        ),
        (lambda h: residual_config(h).update(block=[1, 2]), "must have the config {'block'"),
        (lambda h: residual_config(h).update(extra=1), "must have the config {'block'"),
        (
            lambda h: residual_config(h)["shortcut"]["config"].update(layers="all"),
            r"\(Sequential\) must have the config {'layers'",
        ),
        (
            lambda h: residual_config(h)["shortcut"]["config"]["layers"][0].update(code="x"),
            r"layer 3 shortcut \(0\) is described as",
        ),
        (
            lambda h: residual_config(h)["block"]["config"]["layers"].extend(
                [{"type": "ReLU", "config": {}}] * 1000
            ),
            r"describes 10\d\d layers \(at most 1000\)",
        ),
    ],
)
def test_a_forged_nesting_is_refused(saved, edit, message):
    forge(saved[1], edit)
    with pytest.raises(ModelFileError, match=message):
        load(saved[1])


def test_a_forged_nested_size_cannot_make_load_allocate(saved):
    def huge(h):
        conv = residual_config(h)["block"]["config"]["layers"][0]["config"]
        conv.update(in_channels=10**5, out_channels=10**5)

    forge(saved[1], huge)
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=r"'3.block.0.weight' has shape .* needs shape"):
        load(saved[1])
    assert time.perf_counter() - start < 2


def test_a_missing_shortcut_array_is_named(saved):
    header, arrays = open_npz(saved[1])
    del arrays["3.shortcut.0.weight"]
    write_npz(saved[1], arrays, header)
    with pytest.raises(ModelFileError, match="3.shortcut.0.weight"):
        load(saved[1])


def test_saving_a_residual_with_a_foreign_layer_inside_is_a_clear_error(tmp_path):
    class Mine(cnn.ReLU):
        pass

    model = cnn.Sequential(cnn.Residual(cnn.Sequential(Mine())))
    with pytest.raises(ValueError, match=r"layer 0 block \(0\) is a Mine"):
        cnn.save(model, tmp_path / "x.npz")


def nested_residuals(levels: int) -> cnn.Sequential:
    inner = cnn.Sequential(cnn.Conv2d(2, 2, 3, padding=1, rng=0))
    for _ in range(levels):
        inner = cnn.Sequential(cnn.Residual(inner))
    return cnn.Sequential(*inner.layers, cnn.Flatten(), cnn.Linear(2 * 4 * 4, 3, rng=1))


def test_save_never_writes_a_file_that_load_refuses(tmp_path):
    x = np.random.default_rng(0).random((2, 2, 4, 4)).astype(np.float32)
    model = nested_residuals(5)
    cnn.save(model, tmp_path / "five.npz")
    np.testing.assert_array_equal(cnn.load(tmp_path / "five.npz")(x), model(x))
    with pytest.raises(ValueError, match="nest deeper than a model file allows"):
        cnn.save(nested_residuals(6), tmp_path / "six.npz")  # was written, then refused by load
    assert not (tmp_path / "six.npz").exists()
